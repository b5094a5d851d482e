// SPDX-License-Identifier: MIT
//
// The script of cspy's HTML report (src/writers/html.c embeds it, with
// report.css and the profile, into one file that opens offline). It reads
// the profile from the JSON data element (id cspy-data, type
// application/json) and builds the whole page in the DOM, every piece of
// profile text through textContent (never as markup; this file itself must
// never contain a script tag's opening or closing text, nor a comment
// opener, which test_html checks):
//   - a flame graph on a canvas filling the window (icicle toggle): frames
//     merged by label ("name (file:line)") into a tree, drawn row by row,
//     frames narrower than a third of a pixel skipped, so 10k+ stacks stay
//     fast; click zooms (and opens the source view), Reset Zoom and Esc
//     undo it; hover fills the details line and a tooltip;
//   - search (a regular expression, else the literal text): matching frames
//     highlighted, "Matched: P%" the share of samples with a matching frame;
//   - a selector of what to show: all, one process, one thread;
//   - a sortable table of functions (own and total, as `cspy top`); a click
//     on a row searches that function;
//   - the source view: the clicked frame's file with each line's samples
//     (innermost Python frame: own, the heat map; anywhere on the stack:
//     total, the gutter bar), scrolled to the frame's line, or the reason
//     the profile has no text for the file;
//   - with a differential profile (meta.diff, stacks carry base counts):
//     widths by the new samples, colour by the change of each frame's share
//     of its profile's total (red grew, blue shrank), a legend, both counts
//     on hover, and the table sorted by the largest change (frames only the
//     base had included);
//   - with the python/native/system split (meta.classified, data.classes
//     beside the stacks): each frame's split on hover, a "By class" toggle
//     colouring frames by it (python orange, native blue, system red, not
//     classified grey, mixed in proportion), Py/Nat/Sys columns and a
//     stacked bar per function in the table, and a stacked bar per line
//     (its own samples by class) in the source view;
//   - with --memory (meta.memory, data.memory: [grown, shrunk] bytes per
//     stack): a measure selector, memory grown (the default), memory shrunk
//     or samples: widths, the table and the source view's numbers follow it.
// window.cspyReport exposes the drawn frames for the tests (tests/html/).
'use strict';
(function () {
	const data = JSON.parse(document.getElementById('cspy-data').textContent);
	const meta = data.meta || {};
	const frames = data.frames || [];          // [name, filename, short, line, kind]
	const threads = data.threads || [];        // [pid, tid, name, cmdline, samples, exited]
	const stacks = data.stacks || [];          // [thread, count, base, frame ids root first...]
	const KIND = ['python', 'native', 'process', 'thread', 'interpreter', 'other'];
	const PY = 0, NATIVE = 1, TASK = 6;
	const diff = !!meta.diff;
	const classes = meta.classified && Array.isArray(data.classes) ? data.classes : null;  // [py, nat, sys]
	const memory = meta.memory && Array.isArray(data.memory) ? data.memory : null;         // [grown, shrunk]
	const CLASS_NAMES = ['python', 'native', 'system'];
	const CLASS_RGB = [[240, 150, 40], [60, 120, 220], [210, 50, 50]];
	const ROW = 18;
	const $ = (id) => document.getElementById(id);
	const el = (tag, cls, text) => {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	};

	const sources = new Map();                 // filename -> {text} or {error}
	for (const s of data.sources || [])
		sources.set(s[0], s[1] !== null ? { text: s[1] } : { error: s[2] });

	// ---- labels: frames that print the same merge -------------------------
	const labels = [], labelIds = new Map(), frameLabel = new Int32Array(frames.length);
	const fnKeys = [], fnIds = new Map(), frameFn = new Int32Array(frames.length);
	function frameText(f) {
		const file = meta.full_filenames ? f[1] : (f[2] || f[1]);
		if ((f[4] !== PY && f[4] !== NATIVE) || !file)
			return f[0];
		return f[3] >= 0 ? `${f[0]} (${file}:${f[3]})` : `${f[0]} (${file})`;
	}
	for (let i = 0; i < frames.length; i++) {
		const f = frames[i], t = frameText(f);
		let id = labelIds.get(t);
		if (id === undefined) {
			id = labels.length;
			labels.push({ text: t, name: f[0], frame: i });
			labelIds.set(t, id);
		}
		frameLabel[i] = id;
		const file = meta.full_filenames ? f[1] : (f[2] || f[1]);
		const k = f[0] + '\u0000' + file;
		let fn = fnIds.get(k);
		if (fn === undefined) {
			fn = fnKeys.length;
			fnKeys.push({ name: f[0], file: file, kind: f[4], frame: i });
			fnIds.set(k, fn);
		}
		frameFn[i] = fn;
	}

	// ---- the page ----------------------------------------------------------
	const title = meta.title || 'cspy profile';
	document.title = 'cspy: ' + title;
	const bar = el('div'); bar.id = 'bar';
	const h1 = el('h1', '', title + (diff ? ' (diff)' : '')); h1.title = title;
	const sel = el('select'); sel.id = 'thread'; sel.title = 'What to show';
	const search = el('input'); search.type = 'search'; search.id = 'search';
	search.placeholder = 'Search (regex)';
	const icase = el('input'); icase.type = 'checkbox'; icase.id = 'icase';
	const icaseL = el('label', '', ' Aa'); icaseL.prepend(icase); icaseL.title = 'Ignore case';
	const matched = el('span'); matched.id = 'matched';
	const resetB = el('button', '', 'Reset Zoom'); resetB.id = 'reset';
	const icicleB = el('button', '', 'Icicle'); icicleB.id = 'icicle';
	const tableB = el('button', '', 'Table'); tableB.id = 'tablebtn';
	const totals = el('span'); totals.id = 'totals';
	const legend = el('span'); legend.id = 'legend';
	legend.append(el('span', '', 'shrank'), el('i'), el('span', '', 'grew'));
	if (diff)
		legend.classList.add('on');
	const measureSel = el('select'); measureSel.id = 'measure'; measureSel.title = 'What the widths show';
	for (const [v, t] of [['grow', 'Memory grown'], ['shrink', 'Memory shrunk'], ['time', 'Samples']]) {
		const o = el('option', '', t);
		o.value = v;
		measureSel.append(o);
	}
	const classB = el('button', '', 'By class'); classB.id = 'byclass';
	classB.title = 'Colour frames by their samples\' python / native / system split';
	const classLegend = el('span'); classLegend.id = 'classlegend';
	CLASS_NAMES.forEach((c, i) => {
		const sw = el('i');
		sw.style.background = `rgb(${CLASS_RGB[i].join(',')})`;
		classLegend.append(sw, el('span', '', c));
	});
	bar.append(h1, sel);
	if (memory)
		bar.append(measureSel);
	bar.append(search, icaseL, matched, resetB, icicleB, tableB);
	if (classes)
		bar.append(classB, classLegend);
	bar.append(legend, totals);
	const main = el('div'); main.id = 'main';
	const graph = el('div'); graph.id = 'graph';
	const canvas = el('canvas'); canvas.id = 'flame';
	const spacer = el('div'); spacer.id = 'spacer';
	graph.append(canvas, spacer);
	const details = el('div'); details.id = 'details';
	const lower = el('div'); lower.id = 'lower';
	const tablebox = el('div'); tablebox.id = 'tablebox';
	const source = el('div', 'hidden'); source.id = 'source';
	const srchead = el('div'); srchead.id = 'srchead';
	const srcname = el('span');
	const srcclose = el('button', '', 'Close'); srcclose.id = 'srcclose';
	srchead.append(srcname, srcclose);
	const srcbody = el('div'); srcbody.id = 'srcbody';
	source.append(srchead, srcbody);
	lower.append(tablebox, source);
	main.append(graph, details, lower);
	const tip = el('div'); tip.id = 'tip';
	document.body.append(bar, main, tip);

	// ---- the selector ------------------------------------------------------
	const pids = [];
	for (const t of threads)
		if (!pids.includes(t[0]))
			pids.push(t[0]);
	function addOption(value, text) {
		const o = el('option', '', text);
		o.value = value;
		sel.append(o);
	}
	addOption('all', 'All threads');
	for (const pid of pids) {
		if (pids.length > 1) {
			const t = threads.find((x) => x[0] === pid);
			addOption('p' + pid, `Process ${pid}: ${t[3] || ''}`);
		}
		threads.forEach((t, i) => {
			if (t[0] !== pid)
				return;
			const who = t[5] ? `${t[2]} [${t[5]} exited threads]` : `${t[2] || 'thread'} (${t[1]})`;
			addOption('t' + i, (pids.length > 1 ? '  ' : '') + `Thread ${who}`);
		});
	}

	// ---- state and the tree --------------------------------------------------
	const st = { sel: 'all', zoom: null, icicle: false, re: null, sortKey: diff ? 'delta' : 'own',
		sortAsc: false, file: null, measure: memory ? 'grow' : 'time', byClass: false };
	// What stack i weighs in the view: samples, or bytes grown or shrunk.
	function weight(i) {
		if (st.measure === 'time' || !memory)
			return stacks[i][1];
		return memory[i] ? memory[i][st.measure === 'grow' ? 0 : 1] : 0;
	}
	const bytesView = () => memory !== null && st.measure !== 'time';
	function fmtBytes(v) {
		const u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
		let i = 0, x = v;
		while (x >= 1024 && i < u.length - 1) {
			x /= 1024;
			i++;
		}
		return i ? `${x.toFixed(2)} ${u[i]}` : `${v} bytes`;
	}
	// A weight as text: "N samples" or "B bytes (M MiB)".
	const fmtW = (v) => (bytesView() ? (v >= 1024 ? `${v} bytes (${fmtBytes(v)})` : `${v} bytes`)
		: `${v} samples`);
	function splitText(c, k) {
		return CLASS_NAMES.map((n, i) => `${n} ${pct(c[i], k)}`).join(', ') + ` of ${k} samples`;
	}
	let root = null, nodes = [], total = 0, baseTotal = 0, maxDepth = 0, maxDelta = 0;
	let drawn = [];                            // per row: [x, w, node] in view
	const view = { off: 0 };                   // the graph's scroll offset drawn

	function keep(s) {
		if (st.sel === 'all')
			return true;
		if (st.sel[0] === 'p')
			return threads[s[0]] && String(threads[s[0]][0]) === st.sel.slice(1);
		return String(s[0]) === st.sel.slice(1);
	}
	function newNode(label, parent, depth) {
		const n = { label: label, parent: parent, depth: depth, n: 0, b: 0, kids: null, x: 0, bx: 0,
			k: 0, cls: [0, 0, 0] };
		nodes.push(n);
		return n;
	}
	function build() {
		nodes = [];
		root = newNode(-1, null, 0);
		total = 0; baseTotal = 0; maxDepth = 0;
		const addTo = (node, c, b, i) => {
			node.n += c; node.b += b;
			node.k += stacks[i][1];
			if (classes && classes[i])
				for (let j = 0; j < 3; j++)
					node.cls[j] += classes[i][j];
		};
		for (let i = 0; i < stacks.length; i++) {
			const s = stacks[i];
			if (!keep(s))
				continue;
			const c = weight(i), b = s[2];
			if (!c && !b)
				continue;
			total += c; baseTotal += b;
			let node = root;
			addTo(node, c, b, i);
			for (let k = 3; k < s.length; k++) {
				const lab = frameLabel[s[k]];
				if (!node.kids)
					node.kids = new Map();
				let kid = node.kids.get(lab);
				if (!kid) {
					kid = newNode(lab, node, node.depth + 1);
					node.kids.set(lab, kid);
				}
				addTo(kid, c, b, i);
				node = kid;
			}
			if (node.depth > maxDepth)
				maxDepth = node.depth;
		}
		// Children in label order, offsets from the left.
		maxDelta = 0;
		const todo = [root];
		while (todo.length) {
			const n = todo.pop();
			n.delta = diff ? (total ? n.n / total : 0) - (baseTotal ? n.b / baseTotal : 0) : 0;
			if (n !== root && Math.abs(n.delta) > maxDelta)
				maxDelta = Math.abs(n.delta);
			if (!n.kids)
				continue;
			const kids = Array.from(n.kids.values());
			kids.sort((a, c) => (labels[a.label].text < labels[c.label].text ? -1 : 1));
			n.list = kids;
			let x = n.x;
			for (const k of kids) {
				k.x = x;
				x += k.n;
				todo.push(k);
			}
		}
		st.zoom = root;
	}

	// ---- colours -------------------------------------------------------------
	function hash(s) {
		let h = 2166136261;
		for (let i = 0; i < s.length; i++)
			h = Math.imul(h ^ s.charCodeAt(i), 16777619);
		return h >>> 0;
	}
	const colourCache = new Map();
	function colour(node) {
		if (diff) {
			const t = maxDelta > 0 ? Math.min(1, Math.abs(node.delta) / maxDelta) : 0;
			const mix = (a, z) => Math.round(a + (z - a) * t);
			return node.delta > 0 ? `rgb(${mix(232, 220)},${mix(232, 40)},${mix(232, 40)})`
				: node.delta < 0 ? `rgb(${mix(232, 40)},${mix(232, 80)},${mix(232, 220)})`
				: 'rgb(232,232,232)';
		}
		if (st.byClass && classes && node.k > 0) {   // the class split, mixed
			const rgb = [0, 0, 0];
			let left = node.k;
			for (let i = 0; i < 3; i++) {
				left -= node.cls[i];
				for (let j = 0; j < 3; j++)
					rgb[j] += CLASS_RGB[i][j] * node.cls[i] / node.k;
			}
			return `rgb(${rgb.map((v) => Math.round(v + 200 * Math.max(left, 0) / node.k)).join(',')})`;
		}
		if (node.label < 0)
			return 'rgb(200,200,200)';
		let c = colourCache.get(node.label);
		if (c)
			return c;
		const lab = labels[node.label], kind = frames[lab.frame][4], h = hash(lab.name);
		if (kind === PY)
			c = `rgb(${205 + (h % 50)},${80 + ((h >>> 8) % 130)},${(h >>> 16) % 55})`;
		else if (kind === NATIVE)
			c = `rgb(${60 + (h % 60)},${150 + ((h >>> 8) % 70)},${170 + ((h >>> 16) % 60)})`;
		else if (kind === TASK)         // asyncio tasks (record --async): violets
			c = `rgb(${150 + (h % 60)},${100 + ((h >>> 8) % 40)},${200 + ((h >>> 16) % 50)})`;
		else
			c = `rgb(${170 + (h % 30)},${170 + (h % 30)},${160 + (h % 30)})`;
		colourCache.set(node.label, c);
		return c;
	}
	const HIGHLIGHT = 'rgb(230,0,230)';

	// ---- drawing ---------------------------------------------------------------
	function text(node) {
		return node.label < 0 ? (st.sel === 'all' ? 'all' : sel.options[sel.selectedIndex].text.trim())
			: labels[node.label].text;
	}
	function matches(node) {
		return st.re !== null && node.label >= 0 && st.re.test(labels[node.label].text);
	}
	function draw() {
		const W = graph.clientWidth;
		const rows = maxDepth + 1;
		// Browsers refuse canvases much taller than 32k px: deeper rows
		// of a very deep stack are left out (at the far end from the root).
		// The graph is H px tall (a spacer gives the scroll height); the
		// canvas is only the window onto it, at the scroll offset, and only
		// rows in view are drawn: a stack thousands of frames deep costs
		// no more than the rows that show.
		const V = graph.clientHeight;
		const H = Math.max(V, rows * ROW + 4);
		spacer.style.height = H + 'px';
		const off = Math.max(0, Math.min(graph.scrollTop, H - V));
		canvas.style.top = off + 'px';
		view.off = off;
		const dpr = window.devicePixelRatio || 1;
		if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(V * dpr)) {
			canvas.width = Math.round(W * dpr);
			canvas.height = Math.round(V * dpr);
			canvas.style.width = W + 'px';
			canvas.style.height = V + 'px';
		}
		const g = canvas.getContext('2d');
		g.setTransform(dpr, 0, 0, dpr, 0, -off * dpr);
		g.fillStyle = '#fafafa';
		g.fillRect(0, off, W, V);
		g.font = '12px monospace';
		g.textBaseline = 'middle';
		drawn = [];
		for (let i = 0; i < rows; i++)
			drawn.push([]);
		const z = st.zoom;
		const yOf = (d) => (st.icicle ? d * ROW : H - (d + 1) * ROW);
		const charW = g.measureText('m').width || 7;
		const put = (node, x, w) => {
			const y = yOf(node.depth);
			if (y + ROW <= off || y >= off + V)
				return;         // out of view
			g.fillStyle = matches(node) ? HIGHLIGHT : colour(node);
			g.fillRect(x, y, Math.max(w - 0.5, 0.3), ROW - 1);
			drawn[node.depth].push([x, w, node]);
			if (w > charW * 3) {
				const t = text(node), max = Math.floor((w - 6) / charW);
				g.fillStyle = '#000';
				g.fillText(t.length > max ? t.slice(0, Math.max(max - 2, 0)) + '..' : t, x + 3, y + ROW / 2);
			}
		};
		// Ancestors of the zoomed frame span the width.
		for (let a = z.parent; a; a = a.parent)
			put(a, 0, W);
		if (z.n === 0) {
			g.fillStyle = '#777';
			g.fillText(bytesView() ? `No memory ${st.measure === 'grow' ? 'growth' : 'shrink'} here.`
				: total || baseTotal ? 'No samples here.' : 'No samples in this profile.', 10,
				yOf(0) + ROW / 2);
			return;
		}
		const scale = W / z.n, x0 = z.x;
		const todo = [z];
		while (todo.length) {
			const n = todo.pop();
			const w = n.n * scale;
			if (w < 0.33)
				continue;
			put(n, (n.x - x0) * scale, w);
			if (n.list)
				for (const k of n.list)
					todo.push(k);
		}
	}
	function nodeAt(px, py) {
		py += view.off;
		const H = spacer.offsetHeight;
		const d = st.icicle ? Math.floor(py / ROW) : Math.floor((H - py) / ROW);
		if (d < 0 || d >= drawn.length)
			return null;
		for (const r of drawn[d])
			if (px >= r[0] && px < r[0] + r[1])
				return r[2];
		return null;
	}

	// ---- numbers -----------------------------------------------------------
	const pct = (a, b) => (b ? (100 * a / b).toFixed(2) : '0.00') + '%';
	function describe(node) {
		let s = text(node);
		if (diff) {
			const d = node.delta * 100;
			s += `\nnew: ${node.n} samples (${pct(node.n, total)})  base: ${node.b} samples ` +
				`(${pct(node.b, baseTotal)})  change: ${d >= 0 ? '+' : ''}${d.toFixed(2)} points`;
		} else {
			s += `\n${fmtW(node.n)} (${pct(node.n, total)})`;
		}
		if (classes && node.k)
			s += `\n${splitText(node.cls, node.k)}`;
		if (node.label >= 0) {
			const f = frames[labels[node.label].frame];
			if (f[1])
				s += `\n${f[1]}${f[3] >= 0 ? ':' + f[3] : ''}  [${KIND[f[4]] || 'other'}]`;
		}
		return s;
	}
	function showTotals() {
		totals.textContent = diff ? `new ${total} samples, base ${baseTotal} samples`
			: bytesView() ? `${fmtBytes(total)} ${st.measure === 'grow' ? 'grown' : 'shrunk'}`
			: `${total} samples`;
	}
	function showMatched() {
		if (st.re === null) {
			matched.textContent = '';
			return;
		}
		// Samples under a matching frame, each counted once (outermost match).
		let m = 0;
		const todo = [root];
		while (todo.length) {
			const n = todo.pop();
			if (matches(n)) {
				m += n.n;
				continue;
			}
			if (n.list)
				for (const k of n.list)
					todo.push(k);
		}
		matched.textContent = 'Matched: ' + pct(m, total);
	}

	// ---- the table of functions --------------------------------------------
	let rows = [];
	function tableData() {
		const acc = new Map();
		const get = (fn) => {
			let r = acc.get(fn);
			if (!r) {
				r = { fn: fn, own: 0, tot: 0, bown: 0, btot: 0, k: 0, cls: [0, 0, 0] };
				acc.set(fn, r);
			}
			return r;
		};
		const seen = new Set();
		for (let i = 0; i < stacks.length; i++) {
			const s = stacks[i];
			if (!keep(s) || s.length <= 3)
				continue;
			const c = weight(i), b = s[2];
			if (!c && !b)
				continue;
			const leaf = get(frameFn[s[s.length - 1]]);
			leaf.own += c; leaf.bown += b;
			leaf.k += s[1];
			if (classes && classes[i])
				for (let j = 0; j < 3; j++)
					leaf.cls[j] += classes[i][j];
			seen.clear();
			for (let k = 3; k < s.length; k++) {
				const fn = frameFn[s[k]];
				if (seen.has(fn))
					continue;      // recursion: once per sample
				seen.add(fn);
				const r = get(fn);
				r.tot += c; r.btot += b;
			}
		}
		rows = Array.from(acc.values());
		for (const r of rows)
			r.delta = diff ? (total ? r.tot / total : 0) - (baseTotal ? r.btot / baseTotal : 0) : 0;
	}
	const COLS = diff ? [['own', 'Own'], ['tot', 'Total'], ['bown', 'Base own'], ['btot', 'Base total'],
		['delta', 'Change'], ['name', 'Function']]
		: [['own', 'Own'], ['ownp', 'Own %'], ['tot', 'Total'], ['totp', 'Total %']].concat(
			classes ? [['py', 'Py %'], ['nat', 'Nat %'], ['sys', 'Sys %'], ['split', 'Split']] : [],
			[['name', 'Function']]);
	// A stacked bar of the python / native / system samples c (of k).
	function splitBar(c, k, width) {
		const b = el('span', 'sbar');
		b.style.width = width + 'px';
		b.title = splitText(c, k);
		b.dataset.cls = c.join(',');
		for (let i = 0; i < 3; i++) {
			if (!c[i] || !k)
				continue;
			const part = el('i', 'c' + i);
			part.style.width = (width * c[i] / k).toFixed(2) + 'px';
			b.append(part);
		}
		return b;
	}
	const MAXROWS = 1000;
	function sortValue(r, k) {
		switch (k) {
		case 'ownp': return r.own;
		case 'totp': return r.tot;
		case 'delta': return Math.abs(r.delta);
		case 'py': case 'split': return r.k ? r.cls[0] / r.k : 0;
		case 'nat': return r.k ? r.cls[1] / r.k : 0;
		case 'sys': return r.k ? r.cls[2] / r.k : 0;
		case 'name': return fnKeys[r.fn].name;
		default: return r[k];
		}
	}
	function drawTable() {
		const k = st.sortKey, dir = st.sortAsc ? 1 : -1;
		rows.sort((a, b) => {
			const x = sortValue(a, k), y = sortValue(b, k);
			return x < y ? -dir : x > y ? dir : a.fn - b.fn;
		});
		const t = el('table'); t.id = 'functions';
		const head = el('tr');
		for (const [key, name] of COLS) {
			const th = el('th', key === 'name' ? 'name' : '', name);
			th.dataset.key = key;
			if (key === k)
				th.classList.add('sorted'), st.sortAsc && th.classList.add('asc');
			th.addEventListener('click', () => {
				if (st.sortKey === key)
					st.sortAsc = !st.sortAsc;
				else
					st.sortKey = key, st.sortAsc = key === 'name';
				drawTable();
			});
			head.append(th);
		}
		t.append(head);
		for (const r of rows.slice(0, MAXROWS)) {
			const tr = el('tr');
			const fk = fnKeys[r.fn];
			tr.dataset.fn = String(r.fn);
			const num = (v) => (bytesView() ? fmtBytes(v) : String(v));
			const cells = diff ? [String(r.own), String(r.tot), String(r.bown), String(r.btot),
				(r.delta >= 0 ? '+' : '') + (r.delta * 100).toFixed(2)]
				: [num(r.own), pct(r.own, total), num(r.tot), pct(r.tot, total)];
			if (classes && !diff)
				for (let j = 0; j < 3; j++)
					cells.push(pct(r.cls[j], r.k));
			cells.forEach((c, i) => {
				const td = el('td', '', c);
				if (diff && i === 4)
					td.className = r.delta > 0 ? 'up' : r.delta < 0 ? 'down' : '';
				tr.append(td);
			});
			if (classes && !diff) {
				const td = el('td', 'split');
				td.append(splitBar(r.cls, r.k, 60));
				tr.append(td);
			}
			const name = el('td', 'name', fk.file ? `${fk.name} (${fk.file})` : fk.name);
			name.title = name.textContent;
			tr.append(name);
			tr.addEventListener('click', () => searchFunction(r.fn));
			t.append(tr);
		}
		tablebox.textContent = '';
		tablebox.append(t);
		if (rows.length > MAXROWS)
			tablebox.append(el('div', 'note', `${rows.length - MAXROWS} more functions not shown`));
	}
	const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	function searchFunction(fn) {
		const fk = fnKeys[fn];
		search.value = fk.file ? `^${reEscape(fk.name)} \\(${reEscape(fk.file)}[:)]` : `^${reEscape(fk.name)}$`;
		applySearch();
		const f = frames[fk.frame];
		if (f[4] === PY && f[1])
			openSource(f[1], -1);
	}

	// ---- the source view -----------------------------------------------------
	function openSource(filename, line) {
		st.file = filename;
		source.classList.remove('hidden');
		lower.classList.remove('hidden');
		srcname.textContent = filename + (line >= 0 ? ':' + line : '');
		srcname.title = srcname.textContent;
		srcbody.textContent = '';
		const src = sources.get(filename);
		if (!src || src.text === undefined) {
			const why = src ? src.error
				: 'no source in this profile (not read while recording: --no-sources, a format ' +
				  'that keeps none, or a saved profile without them)';
			srcbody.append(el('div', 'srcerror', `${filename}: ${why}`));
			srcbody.dataset.error = why;
			return;
		}
		delete srcbody.dataset.error;
		// Per line: own (innermost Python frame of the sample) and total
		// (anywhere on the stack, once per sample).
		const own = new Map(), tot = new Map(), seen = new Set();
		const lineK = new Map(), lineCls = new Map();   // own samples and their classes, by line
		for (let i = 0; i < stacks.length; i++) {
			const s = stacks[i], w = weight(i);
			if (!keep(s) || (!w && !(classes && s[1])))
				continue;
			let inner = -1;
			seen.clear();
			for (let k = 3; k < s.length; k++) {
				const f = frames[s[k]];
				if (f[4] !== PY)
					continue;
				inner = k;
				if (f[1] === filename && !seen.has(f[3])) {
					seen.add(f[3]);
					if (w)
						tot.set(f[3], (tot.get(f[3]) || 0) + w);
				}
			}
			if (inner >= 0 && frames[s[inner]][1] === filename) {
				const l = frames[s[inner]][3];
				if (w)
					own.set(l, (own.get(l) || 0) + w);
				if (classes && classes[i]) {
					lineK.set(l, (lineK.get(l) || 0) + s[1]);
					const c = lineCls.get(l) || [0, 0, 0];
					for (let j = 0; j < 3; j++)
						c[j] += classes[i][j];
					lineCls.set(l, c);
				}
			}
		}
		let maxK = 0;
		for (const v of lineK.values())
			maxK = Math.max(maxK, v);
		let maxOwn = 0, maxTot = 0;
		for (const v of own.values())
			maxOwn = Math.max(maxOwn, v);
		for (const v of tot.values())
			maxTot = Math.max(maxTot, v);
		const lines = src.text.split(/\r\n|\r|\n/);
		if (lines.length > 1 && lines[lines.length - 1] === '')
			lines.pop();
		const frag = document.createDocumentFragment();
		let target = null;
		lines.forEach((textLine, i) => {
			const no = i + 1, o = own.get(no) || 0, t = tot.get(no) || 0;
			const row = el('div', 'srcline');
			row.dataset.line = String(no);
			row.dataset.own = String(o);
			row.dataset.total = String(t);
			const gut = el('span', 'gutter');
			const barBox = el('span', 'bar');
			if (t) {
				const b = el('i');
				b.style.width = Math.max(1, Math.round(50 * t / maxTot)) + 'px';
				barBox.append(b);
			}
			const shown = (v) => (bytesView() ? fmtBytes(v) : String(v));
			// bytes in the gutter's few columns: "200M", "4.0K"
			const short = (v) => {
				if (!bytesView())
					return String(v);
				const u = 'BKMGT';
				let i = 0, x = v;
				while (x >= 1024 && i < u.length - 1) {
					x /= 1024;
					i++;
				}
				return (i && x < 100 ? x.toFixed(1) : String(Math.round(x))) + u[i];
			};
			gut.append(el('span', 'no', String(no)), barBox, el('span', 'cnt', t ? short(t) : ''));
			gut.title = `line ${no}: own ${shown(o)} (${pct(o, total)}), total ${shown(t)} (${pct(t, total)})`;
			if (classes) {          // the line's own samples, stacked by class
				const k = lineK.get(no) || 0, c = lineCls.get(no) || [0, 0, 0];
				const box = el('span', 'split');
				if (k)
					box.append(splitBar(c, k, Math.max(2, Math.round(40 * k / maxK))));
				gut.append(box);
				row.dataset.cls = c.join(',');
				if (k)
					gut.title += `; ${splitText(c, k)}`;
			}
			const code = el('span', 'code', textLine.length > 5000 ? textLine.slice(0, 5000) + ' ...' : textLine);
			if (o && maxOwn)
				code.style.background = `rgba(230,40,20,${(0.08 + 0.6 * o / maxOwn).toFixed(3)})`;
			row.append(gut, code);
			if (no === line) {
				row.classList.add('target');
				target = row;
			}
			frag.append(row);
		});
		srcbody.append(frag);
		if (target)
			target.scrollIntoView({ block: 'center' });
	}
	srcclose.addEventListener('click', () => {
		source.classList.add('hidden');
		st.file = null;
	});

	// ---- events --------------------------------------------------------------
	function applySearch() {
		const q = search.value;
		if (!q) {
			st.re = null;
		} else {
			const flags = icase.checked ? 'i' : '';
			try {
				st.re = new RegExp(q, flags);
			} catch (e) {
				st.re = new RegExp(reEscape(q), flags);
			}
		}
		showMatched();
		draw();
	}
	search.addEventListener('input', applySearch);
	icase.addEventListener('change', applySearch);
	function zoom(node) {
		st.zoom = node || root;
		resetB.disabled = st.zoom === root;
		draw();
	}
	resetB.addEventListener('click', () => zoom(root));
	icicleB.addEventListener('click', () => {
		st.icicle = !st.icicle;
		icicleB.textContent = st.icicle ? 'Flame' : 'Icicle';
		layout();
	});
	tableB.addEventListener('click', () => {
		lower.classList.toggle('hidden');
		layout();
	});
	sel.addEventListener('change', () => {
		st.sel = sel.value;
		refresh();
	});
	measureSel.addEventListener('change', () => {
		st.measure = measureSel.value;
		refresh();
	});
	function setByClass(on) {
		st.byClass = on && classes !== null;
		classB.classList.toggle('on', st.byClass);
		classLegend.classList.toggle('on', st.byClass);
		draw();
	}
	classB.addEventListener('click', () => setByClass(!st.byClass));
	canvas.addEventListener('click', (e) => {
		const r = canvas.getBoundingClientRect();
		const n = nodeAt(e.clientX - r.left, e.clientY - r.top);
		if (!n)
			return;
		zoom(n);
		if (n.label >= 0) {
			const f = frames[labels[n.label].frame];
			if (f[4] === PY && f[1])
				openSource(f[1], f[3]);
		}
	});
	canvas.addEventListener('mousemove', (e) => {
		const r = canvas.getBoundingClientRect();
		const n = nodeAt(e.clientX - r.left, e.clientY - r.top);
		if (!n) {
			tip.style.display = 'none';
			details.textContent = '';
			return;
		}
		const d = describe(n);
		details.textContent = d.replace(/\n/g, '  |  ');
		tip.textContent = d;
		tip.style.display = 'block';
		const x = Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4);
		const y = e.clientY + 16 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 8
			: e.clientY + 16;
		tip.style.left = Math.max(0, x) + 'px';
		tip.style.top = Math.max(0, y) + 'px';
	});
	canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
	document.addEventListener('keydown', (e) => {
		if (e.key === 'Escape')
			zoom(root);
		else if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
			e.preventDefault();
			search.focus();
		}
	});
	// The root in view: a flame graph taller than the window is scrolled
	// to its bottom, an icicle to its top.
	function layout() {
		main.style.top = bar.offsetHeight + 'px';
		draw();
		const want = st.icicle ? 0 : graph.scrollHeight;
		if (graph.scrollTop !== want) {
			graph.scrollTop = want;         // clamped by the browser
			draw();
		}
	}
	window.addEventListener('resize', layout);
	graph.addEventListener('scroll', () => {
		if (graph.scrollTop !== view.off)
			draw();
	});

	function refresh() {
		build();
		tableData();
		showTotals();
		showMatched();
		drawTable();
		resetB.disabled = true;
		layout();
		if (st.file)
			openSource(st.file, -1);
	}
	const params = new URLSearchParams(location.search);
	const q = params.get('s');
	if (q)
		search.value = q;
	if (memory && ['grow', 'shrink', 'time'].includes(params.get('m')))
		st.measure = measureSel.value = params.get('m');
	if (params.get('c') === '1')
		st.byClass = classes !== null;
	classB.classList.toggle('on', st.byClass);
	classLegend.classList.toggle('on', st.byClass);
	const t0 = performance.now();
	refresh();
	if (q)
		applySearch();

	// For the tests (tests/html/): the frames as drawn, in CSS pixels of
	// the canvas (only rows wholly in view).
	window.cspyReport = {
		loadMs: performance.now() - t0,
		frames(re) {
			const out = [];
			const H = spacer.offsetHeight, V = canvas.clientHeight;
			drawn.forEach((row, d) => {
				const y = (st.icicle ? d * ROW : H - (d + 1) * ROW) - view.off;
				if (y < 0 || y + ROW > V)
					return;
				for (const [x, w, n] of row) {
					const t = text(n);
					if (re && !new RegExp(re).test(t))
						continue;
					out.push({ label: t, x: x, w: w, depth: d, y: y,
						h: ROW - 1, n: n.n, b: n.b, delta: n.delta, colour: matches(n) ? HIGHLIGHT : colour(n),
						k: n.k, cls: n.cls.slice() });
				}
			});
			return out;
		},
		total: () => total,
		baseTotal: () => baseTotal,
		zoomed: () => (st.zoom === root ? null : text(st.zoom)),
		measure: () => st.measure,
		setMeasure(m) {
			st.measure = measureSel.value = m;
			refresh();
		},
		byClass: () => st.byClass,
		setByClass: setByClass,
		describe: (re) => {
			const n = nodes.find((x) => x.label >= 0 && new RegExp(re).test(labels[x.label].text));
			return n ? describe(n) : null;
		},
	};
})();
