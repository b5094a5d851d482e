// SPDX-License-Identifier: MIT
//
// Checks one of cspy's SVG flame graphs the way a user meets it: opened in
// headless Chromium (playwright-core, the system /usr/bin/chromium, no
// download) as file://FILE.svg?s=TERM. It checks that
//   - no page error or console error happens, and no alert() ever opens
//     (a frame name that became code would do that),
//   - ?s=TERM restored the search: "Matched: P%" equals --matched, and the
//     number of highlighted frames equals --highlighted if given,
//   - every visible label fits its frame,
//   - hovering a frame fills the details line,
//   - Ctrl+F prompts; answering --search2 gives --matched2; the "Search"
//     control reads "Reset Search" and clears the search when clicked,
//   - clicking a frame (the first whose label matches --click, else the first
//     narrower frame two levels down) shows "Reset Zoom", widens that frame
//     to the full width and keeps its ancestors; Reset Zoom hides itself and
//     puts the frame back,
//   - the drawing fills the window: at 1600 px and again after a resize to
//     900 px, the root frame spans the window less its margins, no frame
//     and no control reaches past the right edge,
//   - with --icase T --icase-matched P: searching T (which differs in case
//     from the frames it should find) matches nothing; the i key turns on
//     "Ignore Case" and the search then gives P; clicking the control turns
//     it off again.
// With --empty the graph must have no frames and say so; the click is skipped.
// With --classes (a profile with the python/native/system split): the "By
// class" control turns every frame with data-c="P,N,S" to its split's mix
// (python orange, native blue, system red, the rest grey; of data-k samples,
// else data-n), does not overlap the case control, and the c key turns the
// kind colours back. With --title T the <title> is T (e.g. "Memory growth: ...").
//
//   node svg_check.js FILE.svg --search T --matched P [--highlighted N]
//        --search2 T --matched2 P [--click REGEX] [--empty]
//        [--icase T --icase-matched P] [--classes] [--title T]
//
// Prints one line per check ("ok ..." or "FAIL ...") and exits 1 on failure.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const HIGHLIGHT = 'rgb(230,0,230)';
const CHROMIUM = process.env.CSPY_CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

function parseArgs(argv) {
	const a = { file: null, highlighted: null, click: null, empty: false, icase: null, icaseMatched: null,
		classes: false, title: null };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i];
		const val = () => {
			if (i + 1 >= argv.length)
				throw new Error(`${k} needs a value`);
			return argv[++i];
		};
		switch (k) {
		case '--search': a.search = val(); break;
		case '--matched': a.matched = val(); break;
		case '--highlighted': a.highlighted = Number(val()); break;
		case '--search2': a.search2 = val(); break;
		case '--matched2': a.matched2 = val(); break;
		case '--click': a.click = val(); break;
		case '--empty': a.empty = true; break;
		case '--icase': a.icase = val(); break;
		case '--icase-matched': a.icaseMatched = val(); break;
		case '--classes': a.classes = true; break;
		case '--title': a.title = val(); break;
		default:
			if (k.startsWith('--') || a.file)
				throw new Error(`unknown argument ${k}`);
			a.file = k;
		}
	}
	for (const k of ['file', 'search', 'matched', 'search2', 'matched2'])
		if (a[k] === undefined || a[k] === null)
			throw new Error(`missing ${k === 'file' ? 'FILE.svg' : '--' + k}`);
	return a;
}

let failures = 0;
function check(cond, what, detail) {
	if (cond) {
		console.log(`ok   ${what}`);
	} else {
		failures++;
		console.log(`FAIL ${what}${detail !== undefined ? ': ' + detail : ''}`);
	}
}

async function main() {
	const args = parseArgs(process.argv.slice(2));
	const { chromium } = require('playwright-core');
	const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cspy-svg-'));
	const context = await chromium.launchPersistentContext(profileDir, {
		executablePath: CHROMIUM, headless: true, args: FLAGS,
		viewport: { width: 1600, height: 1000 },
	});
	const errors = [];
	const alerts = [];
	let promptAnswer = null;
	try {
		const page = context.pages()[0] || await context.newPage();
		page.on('pageerror', (e) => errors.push(String(e)));
		page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
		page.on('dialog', async (d) => {
			if (d.type() === 'prompt' && promptAnswer !== null) {
				const ans = promptAnswer;
				promptAnswer = null;
				await d.accept(ans);
			} else {
				alerts.push(`${d.type()}: ${d.message()}`);
				await d.dismiss();
			}
		});
		const url = 'file://' + path.resolve(args.file) + '?s=' + encodeURIComponent(args.search);
		await page.goto(url, { waitUntil: 'load' });

		const state = () => page.evaluate((hl) => {
			const vis = (el) => el && getComputedStyle(el).display !== 'none' &&
				el.getBoundingClientRect().width > 0;
			const gs = Array.from(document.querySelectorAll('#frames > g'));
			const m = document.getElementById('matched');
			return {
				frames: gs.length,
				highlighted: gs.filter((g) => g.querySelector('rect').getAttribute('fill') === hl).length,
				matched: vis(m) ? m.textContent : '',
				search: document.getElementById('search').textContent,
				reset: vis(document.getElementById('reset')),
				empty: !!document.getElementById('empty'),
			};
		}, HIGHLIGHT);

		let s = await state();
		check(!s.reset, 'Reset Zoom hidden until a zoom');
		if (args.empty) {
			check(s.frames === 0 && s.empty, 'empty graph says so', JSON.stringify(s));
		} else {
			check(s.frames > 0, 'frames drawn', s.frames);
		}
		check(s.matched === `Matched: ${args.matched}%`, `?s=${args.search} restores the search`,
			`got "${s.matched}", want "Matched: ${args.matched}%"`);
		if (args.highlighted !== null)
			check(s.highlighted === args.highlighted, 'highlighted frames',
				`got ${s.highlighted}, want ${args.highlighted}`);
		else
			check((s.highlighted > 0) === (parseFloat(args.matched) > 0), 'highlighted frames',
				s.highlighted);

		// Every label fits its rect.
		const overflow = await page.evaluate(() => {
			const bad = [];
			for (const g of document.querySelectorAll('#frames > g')) {
				if (getComputedStyle(g).display === 'none')
					continue;
				const r = g.querySelector('rect'), t = g.querySelector('text');
				const w = Number(r.getAttribute('width'));
				if (t.textContent && t.getComputedTextLength() > w + 0.5)
					bad.push(`${t.textContent} (${t.getComputedTextLength()} > ${w})`);
			}
			return bad;
		});
		check(overflow.length === 0, 'labels fit their frames', overflow.slice(0, 3).join('; '));

		// Details line on hover.
		if (!args.empty) {
			const g = page.locator('#frames > g').first();
			await g.hover();
			const det = await page.locator('#details').textContent();
			check(det.startsWith('Function: all ('), 'details line on hover', det);
		}

		// Ctrl+F, answer the prompt.
		promptAnswer = args.search2;
		await page.mouse.click(2, 2);
		await page.keyboard.press('Control+f');
		await page.waitForTimeout(100);
		check(promptAnswer === null, 'Ctrl+F opens the search prompt');
		s = await state();
		check(s.matched === `Matched: ${args.matched2}%`, `search for ${args.search2}`,
			`got "${s.matched}", want "Matched: ${args.matched2}%"`);
		check(s.search === 'Reset Search', 'Search control offers a reset', s.search);
		await page.locator('#search').click();
		s = await state();
		check(s.matched === '' && s.highlighted === 0 && s.search === 'Search',
			'Reset Search clears the highlight', JSON.stringify(s));
		promptAnswer = args.search;
		await page.locator('#search').click();
		await page.waitForTimeout(100);
		s = await state();
		check(s.matched === `Matched: ${args.matched}%`, 'Search control prompts again', s.matched);

		if (args.icase !== null) {
			await page.locator('#search').click();          // clears
			promptAnswer = args.icase;
			await page.locator('#search').click();
			await page.waitForTimeout(100);
			s = await state();
			check(s.matched === 'Matched: 0.00%', `search for ${args.icase} is case-sensitive by default`,
				s.matched);
			await page.keyboard.press('i');
			s = await state();
			const on = await page.evaluate(() => {
				const c = document.getElementById('case');
				return c ? c.textContent : '(no Ignore Case control)';
			});
			check(s.matched === `Matched: ${args.icaseMatched}%` && on.startsWith('[x]'),
				'the i key ignores case', `got "${s.matched}", "${on}", want "Matched: ${args.icaseMatched}%"`);
			if (await page.locator('#case').count())
				await page.locator('#case').click();
			s = await state();
			check(s.matched === 'Matched: 0.00%', 'clicking Ignore Case turns it off', s.matched);
			await page.locator('#search').click();
			promptAnswer = args.search;
			await page.locator('#search').click();
			await page.waitForTimeout(100);
		}

		if (!args.empty) {
			// Pick the frame to click, and remember where things are.
			const pick = await page.evaluate((re) => {
				const gs = Array.from(document.querySelectorAll('#frames > g'));
				const label = (g) => {
					const t = g.querySelector('title').textContent;
					return t.substring(0, t.lastIndexOf(' ('));
				};
				const rootRect = gs[0].querySelector('rect');
				const full = Number(rootRect.getAttribute('width'));
				const y0 = Number(rootRect.getAttribute('y'));
				let i = -1;
				if (re !== null) {
					const r = new RegExp(re);
					i = gs.findIndex((g) => r.test(label(g)));
				} else {
					i = gs.findIndex((g) => {
						const rc = g.querySelector('rect');
						return Math.abs(Number(rc.getAttribute('y')) - y0) >= 32 &&
							Number(rc.getAttribute('width')) < full - 1;
					});
				}
				if (i < 0)
					return null;
				const rc = gs[i].querySelector('rect');
				return { index: i, label: label(gs[i]), full,
					width: Number(rc.getAttribute('width')), x0: Number(rootRect.getAttribute('x')) };
			}, args.click);
			check(pick !== null, 'a frame to click', args.click);
			if (pick) {
				const g = page.locator('#frames > g').nth(pick.index);
				await g.locator('rect').click();
				const z = await page.evaluate((i) => {
					const gs = Array.from(document.querySelectorAll('#frames > g'));
					const rc = gs[i].querySelector('rect');
					const reset = document.getElementById('reset');
					const shown = gs.filter((x) => getComputedStyle(x).display !== 'none');
					return {
						reset: getComputedStyle(reset).display !== 'none' &&
							reset.getBoundingClientRect().width > 0,
						x: Number(rc.getAttribute('x')),
						width: Number(rc.getAttribute('width')),
						box: rc.getBoundingClientRect().width,
						rootBox: gs[0].querySelector('rect').getBoundingClientRect().width,
						rootShown: getComputedStyle(gs[0]).display !== 'none',
						shown: shown.length, all: gs.length,
					};
				}, pick.index);
				check(z.reset, `click "${pick.label}" shows Reset Zoom`);
				check(Math.abs(z.width - pick.full) < 0.02 && Math.abs(z.x - pick.x0) < 0.02,
					'zoomed frame spans the full width', JSON.stringify(z));
				check(Math.abs(z.box - z.rootBox) < 0.5, 'zoomed frame is as wide on screen as the root',
					`${z.box} vs ${z.rootBox}`);
				check(z.rootShown && z.shown < z.all, 'ancestors stay, other frames hide',
					`${z.shown} of ${z.all} shown`);
				await page.locator('#reset').click();
				const u = await page.evaluate((i) => {
					const gs = Array.from(document.querySelectorAll('#frames > g'));
					const reset = document.getElementById('reset');
					return {
						reset: getComputedStyle(reset).display !== 'none',
						width: Number(gs[i].querySelector('rect').getAttribute('width')),
						shown: gs.filter((x) => getComputedStyle(x).display !== 'none').length,
						all: gs.length,
					};
				}, pick.index);
				check(!u.reset, 'Reset Zoom hides itself');
				check(Math.abs(u.width - pick.width) < 0.02 && u.shown === u.all,
					'Reset Zoom restores the frames', JSON.stringify(u));
			}
		}
		// The drawing fills the window, also after a resize.
		const fills = () => page.evaluate(() => {
			const vw = window.innerWidth;
			const gs = Array.from(document.querySelectorAll('#frames > g'));
			let right = 0;
			for (const g of gs)
				if (getComputedStyle(g).display !== 'none')
					right = Math.max(right, g.querySelector('rect').getBoundingClientRect().right);
			const ctl = ['search', 'case', 'matched', 'subtitle', 'title'].map((id) => document.getElementById(id))
				.filter((e) => e && e.textContent.trim())
				.map((e) => e.getBoundingClientRect().right);
			const root = gs.length ? gs[0].querySelector('rect').getBoundingClientRect() : null;
			return { vw, root: root ? root.width : null, right, ctl: Math.max(0, ...ctl),
				svg: document.documentElement.getBoundingClientRect().width };
		});
		for (const w of [1600, 900]) {
			await page.setViewportSize({ width: w, height: 1000 });
			await page.waitForTimeout(150);
			const f = await fills();
			check(Math.abs(f.svg - w) < 1 && f.ctl <= w + 0.5 &&
				(args.empty || (Math.abs(f.root - (w - 20)) < 1 && f.right <= w - 10 + 0.5)),
				`fills a ${w} px window`, JSON.stringify(f));
		}

		if (args.title !== null) {
			const t = await page.evaluate(() => document.querySelector('svg > title').textContent);
			check(t === args.title, 'the title', t);
		}
		if (args.classes) {
			await page.setViewportSize({ width: 1600, height: 1000 });
			await page.waitForTimeout(150);
			await page.locator('#search').click();          // clears the search
			const colours = () => page.evaluate(() => {
				const RGB = [[240, 150, 40], [60, 120, 220], [210, 50, 50]];
				const out = [];
				for (const g of document.querySelectorAll('#frames > g[data-c]')) {
					const c = g.getAttribute('data-c').split(',').map(Number);
					const k = Number(g.getAttribute('data-k') || g.getAttribute('data-n'));
					let left = k;
					const rgb = [0, 0, 0];
					for (let i = 0; i < 3; i++) {
						left -= c[i];
						for (let j = 0; j < 3; j++)
							rgb[j] += RGB[i][j] * c[i] / k;
					}
					const want = k ? 'rgb(' + rgb.map((v) => Math.round(v + 200 * Math.max(left, 0) / k))
						.join(',') + ')' : null;
					out.push({ fill: g.querySelector('rect').getAttribute('fill'), want });
				}
				return out;
			});
			const before = await colours();
			const ctl = await page.evaluate(() => {
				const a = document.getElementById('classes').getBoundingClientRect();
				const b = document.getElementById('case').getBoundingClientRect();
				return { right: a.right, caseLeft: b.left };
			});
			check(before.length > 0 && ctl.right <= ctl.caseLeft, 'the By class control, left of Ignore Case',
				JSON.stringify(ctl));
			await page.locator('#classes').click();
			const on = await colours();
			check(on.every((f) => f.want === null || f.fill === f.want), 'By class colours each frame by its split',
				JSON.stringify(on.filter((f) => f.fill !== f.want).slice(0, 3)));
			await page.keyboard.press('c');
			const off = await colours();
			check(off.every((f, i) => f.fill === before[i].fill), 'the c key gives the kind colours back');
		}
		check(alerts.length === 0, 'no alert or unexpected dialog', alerts.join('; '));
		check(errors.length === 0, 'no page errors', errors.join('; '));
	} finally {
		await context.close();
		fs.rmSync(profileDir, { recursive: true, force: true });
	}
}

main().then(() => {
	process.exit(failures ? 1 : 0);
}, (e) => {
	console.log(`FAIL svg_check: ${e && e.stack ? e.stack : e}`);
	process.exit(1);
});
