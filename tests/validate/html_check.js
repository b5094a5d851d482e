#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Checks cspy's HTML reports (`-f html`) the way a user meets them: opened
// from disk in headless Chromium (playwright-core with the system
// /usr/bin/chromium, no download), clicked, typed into and read back.
//
//   node html_check.js SPEC.json
//
// SPEC.json is a list of cases written by tests/html/run.py; each has a
// "kind" and a "file" (the report), plus what that kind needs:
//   - every kind: the page loads with no page error, no console error, no
//     dialog, no request but the file itself (the request log), no
//     window.__pwned (hostile input that ran would set it) and no <img>
//     element; the page's data parses (cspyReport exists);
//   - "live" (a live recording of tests/html/target.py): the canvas fills
//     the window at two sizes; the root frame spans it; hovering a frame
//     fills the details line; the search "search" highlights frames and
//     "Matched: P%" equals the share computed here from the page's own data;
//     the thread selector on "thread" shows that thread's samples; the table
//     sorts by Total both ways and a click on a row searches its function;
//     clicking the frame "click" zooms to it (it then spans the window) and
//     opens the source view at "file_name" and "line", whose hottest line (own
//     samples) is "hot_line"; Reset Zoom undoes the zoom; the icicle toggle
//     puts the root at the top; "screenshot": a PNG of the window;
//   - "error": clicking the frame "click" shows the error text "error";
//   - "hostile" (and "source"): the source view of "click" shows "text"
//     literally; the table holds "name_text" literally;
//   - "select": for each [value, samples, frame] of "select", choosing that
//     option of the selector ("all", "pPID", "tINDEX") shows that many
//     samples and that frame right above the root;
//   - "big": the page is ready within "max_ms" (reported); with "deepest":
//     scrolled to the top, the row of that depth is drawn (only rows in
//     view are);
//   - "diff": the frame "grew" is drawn red and "shrank" blue (canvas
//     pixels), the legend shows, hovering shows both counts, the table
//     holds "gone" (a frame only the base had) with a negative change;
//   - "splitmem" (the split and --memory bytes): per measure (grow, the
//     default; shrink; time) the totals line and each leaf frame's width
//     ("grow", "shrink", "count": {function: value}, the widths' shares of
//     the root); hovering a frame shows its bytes and its split ("cls":
//     {function: [python, native, system]}); "By class" colours each frame
//     as its split mixes (canvas pixels); the table's Py/Nat/Sys columns and
//     stacked bars; the source view's stacked bar on line "line".
// Prints "ok ..." / "FAIL ..." per check and ends with "N passed, N failed".
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.CSPY_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];
const HIGHLIGHT = 'rgb(230,0,230)';

let passed = 0, failed = 0;
function check(ok, what, detail) {
	if (ok) {
		passed++;
		console.log(`ok   ${what}`);
	} else {
		failed++;
		console.log(`FAIL ${what}${detail !== undefined ? ': ' + detail : ''}`);
	}
}

// The label of frame f as the page makes it (short file names).
function label(f) {
	const file = f[2] || f[1];
	if ((f[4] !== 0 && f[4] !== 1) || !file)
		return f[0];
	return f[3] >= 0 ? `${f[0]} (${file}:${f[3]})` : `${f[0]} (${file})`;
}

// The page's data, read from the file the way the page reads it.
function pageData(file) {
	const html = fs.readFileSync(file, 'utf8');
	const m = html.match(/<script id="cspy-data" type="application\/json">([^]*?)<\/script>/);
	return m ? JSON.parse(m[1]) : null;
}

// The share of samples (of thread index t, or all) with a frame matching re.
function share(data, re, t) {
	let m = 0, all = 0;
	for (const s of data.stacks) {
		if (t !== undefined && s[0] !== t)
			continue;
		all += s[1];
		if (s.slice(3).some((id) => re.test(label(data.frames[id]))))
			m += s[1];
	}
	return all ? (100 * m / all).toFixed(2) + '%' : '0.00%';
}

async function frames(page, re) {
	return page.evaluate((r) => window.cspyReport.frames(r), re);
}

// The colour of the canvas pixel at the middle of frame fr.
async function pixel(page, fr) {
	return page.evaluate((f) => {
		const c = document.getElementById('flame');
		const dpr = c.width / c.clientWidth;
		const d = c.getContext('2d').getImageData(Math.round((f.x + f.w / 2) * dpr),
			Math.round((f.y + 2) * dpr), 1, 1).data;
		return [d[0], d[1], d[2]];
	}, fr);
}

async function clickFrame(page, fr) {
	const box = await page.locator('#flame').boundingBox();
	await page.mouse.click(box.x + fr.x + Math.min(fr.w / 2, 20), box.y + fr.y + fr.h / 2);
	await page.waitForTimeout(50);
}

async function hoverFrame(page, fr) {
	const box = await page.locator('#flame').boundingBox();
	await page.mouse.move(box.x + fr.x + Math.min(fr.w / 2, 20), box.y + fr.y + fr.h / 2);
	await page.waitForTimeout(30);
}

async function fills(page, what) {
	const r = await page.evaluate(() => {
		const c = document.getElementById('flame'), g = document.getElementById('graph');
		const root = window.cspyReport.frames().find((f) => f.depth === 0);
		return { cw: c.clientWidth, ww: window.innerWidth, gb: document.getElementById('main')
			.getBoundingClientRect().bottom, wh: window.innerHeight, gh: g.clientHeight,
		root: root ? root.w : -1 };
	});
	check(Math.abs(r.cw - r.ww) <= 20 && Math.abs(r.gb - r.wh) <= 1 && r.gh > 100 &&
		Math.abs(r.root - r.cw) < 1, `${what}: the flame graph fills the window`, JSON.stringify(r));
}

async function live(page, c, data) {
	await fills(page, `${c.name} at 1400x900`);
	await page.setViewportSize({ width: 900, height: 700 });
	await page.waitForTimeout(100);
	await fills(page, `${c.name} at 900x700`);
	await page.setViewportSize({ width: 1400, height: 900 });
	await page.waitForTimeout(100);

	// Hover.
	const root = (await frames(page)).find((f) => f.depth === 0);
	await hoverFrame(page, root);
	const det = await page.locator('#details').textContent();
	check(/samples \(100\.00%\)/.test(det), `${c.name}: hover fills the details line`, det);

	// Search.
	await page.fill('#search', c.search);
	const want = share(data, new RegExp(c.search));
	const got = await page.locator('#matched').textContent();
	check(got === 'Matched: ' + want && want !== '0.00%', `${c.name}: search ${c.search} reports its share`,
		`got "${got}", want "Matched: ${want}"`);
	const hl = (await frames(page)).filter((f) => f.colour === HIGHLIGHT);
	const px = hl.length ? await pixel(page, hl[0]) : null;
	check(hl.length > 0 && hl.every((f) => new RegExp(c.search).test(f.label)) && px &&
		px[0] === 230 && px[1] === 0 && px[2] === 230, `${c.name}: matching frames highlighted`,
		`${hl.length} frames, pixel ${px}`);
	await page.fill('#search', '');

	// Thread selector.
	const ti = data.threads.findIndex((t) => t[2] === c.thread);
	if (ti < 0) {
		check(false, `${c.name}: thread ${c.thread} in the profile`, JSON.stringify(data.threads));
	} else {
		const before = await page.locator('#totals').textContent();
		await page.selectOption('#thread', 't' + ti);
		const n = data.stacks.filter((s) => s[0] === ti).reduce((a, s) => a + s[1], 0);
		const after = await page.locator('#totals').textContent();
		const top = (await frames(page)).filter((f) => f.depth === 1).map((f) => f.label);
		check(after === `${n} samples` && after !== before && n > 0,
			`${c.name}: selecting thread ${c.thread} shows its ${n} samples`, `${before} -> ${after}`);
		check(top.length > 0, `${c.name}: the selected thread's frames drawn`, top.join(', '));
		await page.selectOption('#thread', 'all');
	}

	// Table: sort by Total, both ways; a click on a row searches it.
	const col = async () => page.evaluate(() => Array.from(document.querySelectorAll('#functions tr'))
		.slice(1).map((r) => Number(r.children[2].textContent)));
	await page.click('#functions th[data-key="tot"]');
	let v = await col();
	check(v.length > 1 && v.every((x, i) => !i || v[i - 1] >= x), `${c.name}: table sorted by Total, descending`,
		v.slice(0, 8).join(' '));
	await page.click('#functions th[data-key="tot"]');
	v = await col();
	check(v.length > 1 && v.every((x, i) => !i || v[i - 1] <= x), `${c.name}: table sorted by Total, ascending`,
		v.slice(0, 8).join(' '));
	await page.click('#functions th[data-key="own"]');
	const row = page.locator('#functions tr', { hasText: c.click.replace(/^\^/, '') + ' (' }).first();
	await row.click();
	const q = await page.inputValue('#search');
	const m2 = await page.locator('#matched').textContent();
	check(q.includes(c.click.replace(/^\^/, '')) && /Matched: [1-9]/.test(m2),
		`${c.name}: a click on a table row searches the function`, `"${q}" -> ${m2}`);
	await page.fill('#search', '');

	// Click a frame: zoom and the source view.
	// The widest of its frames (a function can show on several lines).
	const fr = (await frames(page, c.click + ' ')).sort((a, b) => b.w - a.w)[0];
	if (!fr) {
		check(false, `${c.name}: frame ${c.click} drawn`);
		return;
	}
	await clickFrame(page, fr);
	const z = await page.evaluate(() => window.cspyReport.zoomed());
	const after = (await frames(page, c.click + ' ')).find((f) => f.depth === fr.depth);
	const cw = await page.evaluate(() => document.getElementById('flame').clientWidth);
	check(z === fr.label && after && Math.abs(after.w - cw) < 1, `${c.name}: click zooms to ${fr.label}`,
		`zoomed ${z}, width ${after && after.w} of ${cw}`);
	const sv = await page.evaluate(() => {
		const rows = Array.from(document.querySelectorAll('#srcbody .srcline'));
		let hot = null;
		for (const r of rows)
			if (!hot || Number(r.dataset.own) > Number(hot.dataset.own))
				hot = r;
		const t = document.querySelector('#srcbody .srcline.target');
		const box = document.getElementById('srcbody').getBoundingClientRect();
		const tb = t ? t.getBoundingClientRect() : null;
		return { name: document.querySelector('#srchead span').textContent, lines: rows.length,
			hot: hot ? Number(hot.dataset.line) : -1, hotOwn: hot ? Number(hot.dataset.own) : 0,
			target: t ? Number(t.dataset.line) : -1, visible: !!tb && tb.top >= box.top && tb.bottom <= box.bottom,
			error: document.getElementById('srcbody').dataset.error || '',
			heat: hot ? getComputedStyle(hot.querySelector('.code')).backgroundColor : '',
			bar: hot ? !!hot.querySelector('.bar i') : false };
	});
	check(sv.name === `${c.file_name}:${c.line}` && sv.lines > 0,
		`${c.name}: the source view opens ${c.file_name}:${c.line}`,
		JSON.stringify(sv));
	check(sv.target === c.line && sv.visible, `${c.name}: the source view is scrolled to line ${c.line}`,
		JSON.stringify(sv));
	check(sv.hot === c.hot_line && sv.hotOwn > 0 && sv.heat !== 'rgba(0, 0, 0, 0)' && sv.bar,
		`${c.name}: the hottest line of the heat map is the target's hot line ${c.hot_line}`, JSON.stringify(sv));
	await page.click('#reset');
	check((await page.evaluate(() => window.cspyReport.zoomed())) === null, `${c.name}: Reset Zoom`);
	await page.click('#icicle');
	const r2 = (await frames(page)).find((f) => f.depth === 0);
	check(r2 && r2.y === 0, `${c.name}: icicle puts the root on top`, JSON.stringify(r2));
	await page.click('#icicle');
	if (c.screenshot) {
		await clickFrame(page, (await frames(page, c.click + ' ')).sort((a, b) => b.w - a.w)[0]);
		await page.click('#reset');
		await page.fill('#search', c.search);
		await page.mouse.move(0, 0);
		await page.screenshot({ path: c.screenshot });
		check(fs.statSync(c.screenshot).size > 10000, `${c.name}: screenshot ${c.screenshot}`);
	}
}

async function errorCase(page, c) {
	const fr = (await frames(page, c.click))[0];
	if (!fr) {
		check(false, `${c.name}: frame ${c.click} drawn`);
		return;
	}
	await clickFrame(page, fr);
	const e = await page.evaluate(() => {
		const x = document.querySelector('#srcbody .srcerror');
		return x ? x.textContent : '';
	});
	check(e.includes(c.error), `${c.name}: the source view says "${c.error}"`, e);
}

async function hostile(page, c) {
	const fr = (await frames(page, c.click))[0];
	if (!fr) {
		check(false, `${c.name}: frame ${c.click} drawn`);
		return;
	}
	await clickFrame(page, fr);
	const src = await page.evaluate(() => document.getElementById('srcbody').textContent);
	check(src.includes(c.text), `${c.name}: the source text shown, as text`, src.slice(0, 200));
	const tab = await page.evaluate(() => document.getElementById('functions').textContent);
	check(tab.includes(c.name_text), `${c.name}: the function name shown as text in the table`);
	await hoverFrame(page, (await frames(page, c.name_re))[0] || fr);
	const det = await page.locator('#details').textContent();
	check(det.length > 0, `${c.name}: hovering the frame`, det.slice(0, 80));
}

// The selector: each option in "select" ([value, samples, top frame]) shows
// that many samples and that frame above the root.
async function selectCase(page, c) {
	for (const [value, n, frame] of c.select) {
		await page.selectOption('#thread', value);
		const tot = await page.locator('#totals').textContent();
		const top = (await frames(page)).filter((f) => f.depth === 1).map((f) => f.label);
		check(tot === `${n} samples` && top.some((t) => t.startsWith(frame)),
			`${c.name}: selecting ${value} shows ${n} samples under ${frame}`, `${tot}; ${top.join(', ')}`);
	}
}

async function diffCase(page, c) {
	const grew = (await frames(page, c.grew))[0], shrank = (await frames(page, c.shrank))[0];
	if (!grew || !shrank) {
		check(false, `${c.name}: frames ${c.grew} and ${c.shrank} drawn`);
		return;
	}
	const g = await pixel(page, grew), s = await pixel(page, shrank);
	check(g[0] > 180 && g[2] < 120 && g[0] - g[2] > 100, `${c.name}: ${c.grew} (grew) is red`, String(g));
	check(s[2] > 180 && s[0] < 120 && s[2] - s[0] > 100, `${c.name}: ${c.shrank} (shrank) is blue`, String(s));
	const leg = await page.evaluate(() => getComputedStyle(document.getElementById('legend')).display);
	check(leg !== 'none', `${c.name}: legend shown`, leg);
	await hoverFrame(page, grew);
	const det = await page.locator('#details').textContent();
	check(/new: \d+ samples .*base: \d+ samples .*change: \+/.test(det), `${c.name}: hover shows both counts`, det);
	const rows = await page.evaluate(() => Array.from(document.querySelectorAll('#functions tr')).slice(1)
		.map((r) => [r.lastChild.textContent, r.children[4].textContent]));
	const gone = rows.find((r) => r[0].startsWith(c.gone));
	check(gone && gone[1].startsWith('-'), `${c.name}: ${c.gone} (only in the base) in the table of changes`,
		JSON.stringify(rows.slice(0, 6)));
	if (c.screenshot) {
		await page.mouse.move(0, 0);
		await page.screenshot({ path: c.screenshot });
		check(fs.statSync(c.screenshot).size > 5000, `${c.name}: screenshot ${c.screenshot}`);
	}
}

// The colour the page mixes for a split c of k samples.
function classColour(c, k) {
	const RGB = [[240, 150, 40], [60, 120, 220], [210, 50, 50]];
	const rgb = [0, 0, 0];
	let left = k;
	for (let i = 0; i < 3; i++) {
		left -= c[i];
		for (let j = 0; j < 3; j++)
			rgb[j] += RGB[i][j] * c[i] / k;
	}
	return rgb.map((v) => Math.round(v + 200 * Math.max(left, 0) / k));
}

async function splitMemCase(page, c) {
	const fmt = (v) => {
		const u = ['bytes', 'KiB', 'MiB', 'GiB'];
		let i = 0, x = v;
		while (x >= 1024 && i < u.length - 1) {
			x /= 1024;
			i++;
		}
		return i ? `${x.toFixed(2)} ${u[i]}` : `${v} bytes`;
	};
	for (const [m, want, tot] of [['grow', c.grow, `${fmt(c.grow_total)} grown`],
		['shrink', c.shrink, `${fmt(c.shrink_total)} shrunk`], ['time', c.count, `${c.samples} samples`]]) {
		if (m !== 'grow')
			await page.selectOption('#measure', m);
		const got = await page.locator('#totals').textContent();
		check(got === tot, `${c.name}: measure ${m}: totals "${tot}"`, got);
		const fr = await frames(page);
		const root = fr.find((f) => f.depth === 0);
		const all = Object.values(want).reduce((a, b) => a + b, 0);
		// Each drawn frame's own weight (its n less its drawn callees'), by
		// function; frames too narrow to draw (under 1 % here) are left out.
		const own = {};
		for (const f of fr) {
			if (f.depth === 0)
				continue;
			const kids = fr.filter((g) => g.depth === f.depth + 1 && g.x >= f.x - 0.01 &&
				g.x + g.w <= f.x + f.w + 0.01).reduce((a, g) => a + g.n, 0);
			const name = f.label.split(' ')[0];
			if (f.n - kids)
				own[name] = (own[name] || 0) + f.n - kids;
		}
		const wide = Object.fromEntries(Object.entries(want).filter(([, v]) => v >= all / 100));
		const ok = Object.keys(wide).every((k) => own[k] === want[k]) &&
			Object.keys(own).every((k) => want[k] === own[k]);
		check(ok && root && root.n === all, `${c.name}: measure ${m}: each function's frames weigh its ` +
			`${m === 'time' ? 'samples' : 'bytes'}`, JSON.stringify([own, want, root && root.n]));
		// widths: shares of the root
		const big = fr.find((f) => f.label.startsWith('grow_big'));
		if (big && root && want.grow_big)
			check(Math.abs(big.w / root.w - want.grow_big / all) < 0.01,
				`${c.name}: measure ${m}: grow_big's width is its share`, `${big.w}/${root.w}`);
	}
	await page.selectOption('#measure', 'grow');
	const big = (await frames(page, '^grow_big'))[0];
	if (!big) {
		check(false, `${c.name}: grow_big drawn`);
		return;
	}
	await hoverFrame(page, big);
	const det = await page.locator('#details').textContent();
	const k = c.count.grow_big, cl = c.cls.grow_big;
	const pc = (a) => (100 * a / k).toFixed(2) + '%';
	const wantDet = `${c.grow.grow_big} bytes (${fmt(c.grow.grow_big)})`;
	const wantSplit = `python ${pc(cl[0])}, native ${pc(cl[1])}, system ${pc(cl[2])} of ${k} samples`;
	check(det.includes(wantDet) && det.includes(wantSplit), `${c.name}: hover shows bytes and the split`,
		`${det} | want ${wantDet} | ${wantSplit}`);
	// By class: each frame's pixel is its split's mix
	await page.mouse.move(0, 0);
	await page.click('#byclass');
	await page.waitForTimeout(50);
	const legend = await page.evaluate(() => getComputedStyle(document.getElementById('classlegend')).display);
	check(legend !== 'none', `${c.name}: the class legend shows`, legend);
	for (const f of await frames(page)) {
		if (f.w < 4 || !f.k)
			continue;
		// left of the frame's text
		const px = await pixel(page, Object.assign({}, f, { x: f.x + 1, w: 0 })),
			want = classColour(f.cls, f.k);
		check(px.every((v, i) => Math.abs(v - want[i]) <= 3), `${c.name}: By class: ${f.label} ` +
			`coloured by its split ${f.cls}/${f.k}`, `${px} vs ${want}`);
	}
	// the table: Py/Nat/Sys of the own samples and a stacked bar per
	// function (every function has samples: the time measure)
	await page.selectOption('#measure', 'time');
	const rows = await page.evaluate(() => {
		const heads = Array.from(document.querySelectorAll('#functions th')).map((t) => t.textContent);
		return Array.from(document.querySelectorAll('#functions tr')).slice(1).map((r) => {
			const cells = Array.from(r.children).map((td) => td.textContent);
			const bar = r.querySelector('.sbar');
			return { name: r.lastChild.textContent, py: cells[heads.indexOf('Py %')],
				nat: cells[heads.indexOf('Nat %')], sys: cells[heads.indexOf('Sys %')],
				bar: bar ? bar.dataset.cls : null,
				parts: bar ? Array.from(bar.children).map((i) => parseFloat(i.style.width)) : [] };
		});
	});
	for (const [fn, cls] of Object.entries(c.cls)) {
		const r = rows.find((x) => x.name.startsWith(fn + ' '));
		const n = c.count[fn];
		const p = (a) => (n ? (100 * a / n).toFixed(2) : '0.00') + '%';
		const parts = cls.filter((v) => v).map((v) => 60 * v / n);
		check(r && r.py === p(cls[0]) && r.nat === p(cls[1]) && r.sys === p(cls[2]) &&
			r.bar === cls.join(',') && r.parts.length === parts.length &&
			r.parts.every((w, i) => Math.abs(w - parts[i]) < 0.02),
			`${c.name}: table row ${fn}: Py/Nat/Sys and its stacked bar`, JSON.stringify([r, cls, n]));
	}
	// the source view: a stacked bar per line
	await page.selectOption('#measure', 'grow');
	await page.click('#byclass');
	await clickFrame(page, (await frames(page, '^grow_big'))[0]);
	await page.waitForTimeout(50);
	const line = await page.evaluate((no) => {
		const r = document.querySelector(`#srcbody .srcline[data-line="${no}"]`);
		const bar = r && r.querySelector('.split .sbar');
		return r && { own: r.dataset.own, cls: r.dataset.cls, bar: bar ? bar.dataset.cls : null,
			parts: bar ? bar.children.length : 0 };
	}, c.line);
	const cls = c.cls.grow_big;
	check(line && line.own === String(c.grow.grow_big) && line.cls === cls.join(',') &&
		line.bar === cls.join(',') && line.parts === cls.filter((v) => v).length,
		`${c.name}: source line ${c.line}: own bytes and a stacked bar of its split`, JSON.stringify(line));
	if (c.screenshot) {     // the memory view, coloured by class
		await page.click('#reset');
		await page.click('#byclass');
		await page.mouse.move(0, 0);
		await page.screenshot({ path: c.screenshot });
		check(fs.statSync(c.screenshot).size > 5000, `${c.name}: screenshot ${c.screenshot}`);
	}
}

async function main() {
	const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
	const { chromium } = require('playwright-core');
	const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cspy-html-'));
	const context = await chromium.launchPersistentContext(profileDir, {
		executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 },
	});
	try {
		for (const c of cases) {
			const page = await context.newPage();
			const errors = [], requests = [], dialogs = [];
			const url = 'file://' + path.resolve(c.file);
			page.on('pageerror', (e) => errors.push(String(e)));
			page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
			page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
			page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
			const t0 = Date.now();
			await page.goto(url, { waitUntil: 'load' });
			await page.waitForFunction(() => window.cspyReport !== undefined, null, { timeout: 30000 })
				.catch(() => {});
			const ms = Date.now() - t0;
			const ready = await page.evaluate(() => window.cspyReport !== undefined);
			check(ready, `${c.name}: the page is built (its data parses)`);
			if (ready) {
				const data = pageData(c.file);
				if (c.kind === 'live')
					await live(page, c, data);
				else if (c.kind === 'error')
					await errorCase(page, c);
				else if (c.kind === 'hostile' || c.kind === 'source')
					await hostile(page, c);
				else if (c.kind === 'diff')
					await diffCase(page, c);
				else if (c.kind === 'select')
					await selectCase(page, c);
				else if (c.kind === 'splitmem')
					await splitMemCase(page, c);
				else if (c.kind === 'big') {
					check(ms <= c.max_ms, `${c.name}: ${data.stacks.length} stacks ready in ${ms} ms ` +
						`(at most ${c.max_ms})`);
					// Scrolled to the far end from the root: those rows are drawn.
					if (c.deepest)
						await page.evaluate(() => { document.getElementById('graph').scrollTop = 0; });
					const top = c.deepest ? await page.waitForTimeout(100).then(() => frames(page)) : [];
					const deepest = top.reduce((m, f) => Math.max(m, f.depth), 0);
					if (c.deepest)
						check(deepest === c.deepest, `${c.name}: scrolled up, the deepest rows drawn`,
							`deepest drawn ${deepest} of ${c.deepest}`);
				}
			}
			const safe = await page.evaluate(() => ({ pwned: window.__pwned,
				imgs: document.querySelectorAll('img, iframe, object, embed').length }));
			check(safe.pwned === undefined && safe.imgs === 0 && dialogs.length === 0,
				`${c.name}: no injected script or markup ran`, JSON.stringify([safe, dialogs]));
			check(errors.length === 0, `${c.name}: no page errors`, errors.slice(0, 3).join(' | '));
			check(requests.length === 0, `${c.name}: no network request`, requests.slice(0, 3).join(' '));
			await page.close();
		}
	} finally {
		await context.close();
		fs.rmSync(profileDir, { recursive: true, force: true });
	}
}

main().catch((e) => {
	check(false, 'html_check.js ran', e && e.stack ? e.stack : String(e));
}).finally(() => {
	console.log(`${passed} passed, ${failed} failed`);
	process.exitCode = failed ? 1 : 0;
});
