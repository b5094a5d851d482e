// SPDX-License-Identifier: MIT
//
// The script of cspy's SVG flame graphs (src/out/flamegraph.c embeds it at
// build time). It reads everything it needs from the document: each frame is
// a <g data-s="START" data-n="SAMPLES"> under <g id="frames"> holding a
// <title> "LABEL (N samples, P%)", a <rect> and a <text>; the first frame is
// the root ("all"), whose rect gives the drawing area. No profile data is ever
// part of this script. It adds:
//   - label trimming with ".." to the width of each frame (on load and zoom),
//   - click to zoom (ancestors stay, faded and full width; the subtree is
//     widened to the full width), a "Reset Zoom" control, click "all" to reset,
//   - a regex search (the "Search" control, Ctrl-F or F3 prompt for it; Escape
//     or "Reset Search" clears it) that colours matching frames and shows
//     "Matched: P%" of all samples, nested matches counted once; ?s=REGEX in the
//     URL restores a search on load,
//   - a case-insensitive toggle for the search (the "Ignore Case" control or
//     the i key; ?i=1 in the URL): the regex gets the i flag,
//   - a details line naming the frame under the mouse,
//   - with the python/native/system split (frames with data-c="P,N,S" and a
//     "By class" control, or the c key; ?c=1 in the URL): each frame coloured
//     by its samples' classes, python orange, native blue, system red, the
//     samples not classified grey, mixed in proportion,
//   - the drawing fills the window and follows its resizes (as inferno's
//     does): the writer drew it for a fixed width; the script makes the SVG
//     as wide as its window and places the frames for that width again.
// Sample positions are integers, so zoomed coordinates and the matched
// percentage are exact.
(function () {
	'use strict';
	var HIGHLIGHT = 'rgb(230,0,230)';
	var TEXT_PAD = 3;
	var doc = document;
	var framesEl = doc.getElementById('frames');
	var details = doc.getElementById('details');
	var matched = doc.getElementById('matched');
	var resetEl = doc.getElementById('reset');
	var searchEl = doc.getElementById('search');
	var caseEl = doc.getElementById('case');
	var classesEl = doc.getElementById('classes');
	var byClass = false;
	var svg = doc.documentElement;
	var frames = [];
	var root = null;
	var x0 = 0, fullWidth = 0, charWidth = 7.3;
	var current = null;     // the active search term, or null
	var ignoreCase = false;
	var zoomed = null;      // the frame zoomed to, or null
	var viewW = 0;          // the width laid out for

	function labelOf(title) {
		var i = title.lastIndexOf(' (');
		return i < 0 ? title : title.substring(0, i);
	}

	function init() {
		if (!framesEl)
			return;
		var gs = framesEl.getElementsByTagName('g');
		for (var i = 0; i < gs.length; i++) {
			var g = gs[i];
			var rect = g.getElementsByTagName('rect')[0];
			var text = g.getElementsByTagName('text')[0];
			var title = g.getElementsByTagName('title')[0];
			if (!rect || !text || !title)
				continue;
			var f = {
				g: g, rect: rect, text: text,
				s: Number(g.getAttribute('data-s')),
				n: Number(g.getAttribute('data-n')),
				y: Number(rect.getAttribute('y')),
				label: labelOf(title.textContent),
				chars: null,    // code points, when first needed
				fill: rect.getAttribute('fill'),
				kindFill: rect.getAttribute('fill'),
				cls: g.getAttribute('data-c'),
				// what is drawn now, to touch only what changes
				x: rect.getAttribute('x'),
				w: rect.getAttribute('width'),
				shown: true,
				faded: false,
			};
			g.__frame = f;
			frames.push(f);
		}
		if (!frames.length)
			return;
		root = frames[0];
		x0 = Number(root.rect.getAttribute('x'));
		fullWidth = Number(root.rect.getAttribute('width'));
		measureChars();
		// The writer placed every frame; only the labels are fitted again,
		// with the font's real width instead of the writer's estimate.
		for (var k = 0; k < frames.length; k++)
			fitText(frames[k], Number(frames[k].w));
	}

	// The width of one character of the frame font (it is monospace).
	function measureChars() {
		var t = doc.createElementNS('http://www.w3.org/2000/svg', 'text');
		t.setAttribute('x', '0');
		t.setAttribute('y', '-100');
		t.textContent = 'MMMMMMMMMMMMMMMMMMMM';
		framesEl.appendChild(t);
		var w = t.getComputedTextLength();
		framesEl.removeChild(t);
		if (w > 0)
			charWidth = w / 20;
	}

	function fmt(v) {
		return String(Math.round(v * 100) / 100);
	}

	// Show f as covering samples [off, off + f.n) of a view `span` samples
	// wide, or as a faded full-width ancestor.
	function place(f, off, span, faded) {
		var x = x0 + off / span * fullWidth;
		var w = f.n / span * fullWidth;
		if (faded) {
			x = x0;
			w = fullWidth;
		}
		var xs = fmt(x), ws = fmt(w);
		if (!f.shown) {
			f.g.style.display = '';
			f.shown = true;
		}
		if (f.faded !== faded) {
			f.g.style.opacity = faded ? '0.6' : '';
			f.faded = faded;
		}
		if (f.x !== xs || f.w !== ws) {
			f.rect.setAttribute('x', xs);
			f.rect.setAttribute('width', ws);
			f.text.setAttribute('x', fmt(x + TEXT_PAD));
			f.x = xs;
			f.w = ws;
			fitText(f, w);
		}
	}

	function hide(f) {
		if (f.shown) {
			f.g.style.display = 'none';
			f.shown = false;
		}
	}

	function fitText(f, w) {
		var max = Math.floor((w - 2 * TEXT_PAD) / charWidth);
		var s;
		if (f.label.length <= max) {    // UTF-16 units >= code points
			s = f.label;
		} else {
			if (f.chars === null)
				f.chars = Array.from(f.label);
			if (f.chars.length <= max)
				s = f.label;
			else if (max >= 3)
				s = f.chars.slice(0, max - 2).join('') + '..';
			else
				s = '';
		}
		if (f.text.textContent !== s)
			f.text.textContent = s;
	}

	function depthKey(f) {
		return Math.abs(f.y - root.y);
	}

	function zoom(f) {
		if (f === root) {
			unzoom();
			return;
		}
		var d = depthKey(f);
		for (var i = 0; i < frames.length; i++) {
			var o = frames[i];
			var od = depthKey(o);
			if (od < d) {
				if (o.s <= f.s && o.s + o.n >= f.s + f.n)
					place(o, 0, o.n, true);
				else
					hide(o);
			} else if (o.s >= f.s && o.s + o.n <= f.s + f.n) {
				place(o, o.s - f.s, f.n, false);
			} else {
				hide(o);
			}
		}
		zoomed = f;
		resetEl.style.display = '';
	}

	function unzoom() {
		for (var i = 0; i < frames.length; i++)
			place(frames[i], frames[i].s - root.s, root.n, false);
		zoomed = null;
		resetEl.style.display = 'none';
	}

	// Make the drawing as wide as the window: the SVG at 100% width, a
	// viewBox of one unit per pixel, the centred and right-aligned texts
	// moved, and every frame placed again for the new width.
	function fitWindow() {
		if (svg.namespaceURI !== 'http://www.w3.org/2000/svg')
			return;
		svg.setAttribute('width', '100%');
		var w = Math.floor(svg.getBoundingClientRect().width || window.innerWidth || 0);
		if (w < 200)
			w = 200;
		if (w === viewW)
			return;
		viewW = w;
		var h = svg.getAttribute('height');
		svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
		var bg = doc.getElementById('background');
		if (bg)
			bg.setAttribute('width', String(w));
		var centred = ['title', 'subtitle', 'empty'];
		for (var i = 0; i < centred.length; i++) {
			var c = doc.getElementById(centred[i]);
			if (c)
				c.setAttribute('x', fmt(w / 2));
		}
		var pad = root ? x0 : 10;
		var right = [searchEl, matched];
		for (var k = 0; k < right.length; k++)
			if (right[k])
				right[k].setAttribute('x', String(w - pad));
		if (caseEl && searchEl)
			caseEl.setAttribute('x', String(w - pad - searchEl.getComputedTextLength() - 3 * charWidth));
		placeClasses();
		if (!root)
			return;
		fullWidth = w - 2 * x0;
		if (zoomed)
			zoom(zoomed);
		else
			unzoom();
	}

	function setIgnoreCase(on) {
		ignoreCase = on;
		if (caseEl) {
			caseEl.style.fontWeight = on ? 'bold' : '';
			caseEl.textContent = on ? '[x] Ignore Case' : '[ ] Ignore Case';
		}
		if (current !== null)
			search(current);
	}

	// The colour of a frame's class split "P,N,S" of its k samples: the
	// classes' colours mixed by their shares, the rest grey.
	var CLASS_RGB = [[240, 150, 40], [60, 120, 220], [210, 50, 50]];
	function classFill(cls, k) {
		var c = cls.split(',').map(Number), rgb = [0, 0, 0], left = k;
		for (var i = 0; i < 3; i++) {
			left -= c[i];
			for (var j = 0; j < 3; j++)
				rgb[j] += CLASS_RGB[i][j] * c[i] / k;
		}
		for (var m = 0; m < 3; m++)
			rgb[m] = Math.round(rgb[m] + 200 * Math.max(left, 0) / k);
		return 'rgb(' + rgb.join(',') + ')';
	}

	function setByClass(on) {
		if (!classesEl)
			return;
		byClass = on;
		classesEl.style.fontWeight = on ? 'bold' : '';
		classesEl.textContent = on ? '[x] By class' : '[ ] By class';
		for (var i = 0; i < frames.length; i++) {
			var f = frames[i];
			var c = f.cls ? f.cls.split(',').map(Number) : null;
			// data-k: the samples, when the widths are bytes (--memory)
			var kk = Number(f.g.getAttribute('data-k')) || f.n;
			f.fill = on && c && kk > 0 ? classFill(f.cls, kk) : f.kindFill;
		}
		if (current !== null)
			search(current);
		else
			for (var n = 0; n < frames.length; n++)
				frames[n].rect.setAttribute('fill', frames[n].fill);
	}

	function showMatched(text) {
		matched.textContent = text;
		matched.style.display = text ? '' : 'none';
	}

	function clearSearch() {
		current = null;
		for (var i = 0; i < frames.length; i++)
			frames[i].rect.setAttribute('fill', frames[i].fill);
		showMatched('');
		searchEl.textContent = 'Search';
		placeCase();
		setUrlTerm(null);
	}

	function search(term) {
		if (term === null || term === undefined)
			return;
		if (term === '') {
			clearSearch();
			return;
		}
		var re;
		try {
			re = new RegExp(term, ignoreCase ? 'i' : '');
		} catch (e) {
			clearSearch();
			showMatched('Invalid regex');
			return;
		}
		current = term;
		var spans = [];
		for (var i = 0; i < frames.length; i++) {
			var f = frames[i];
			if (f !== root && re.test(f.label)) {
				f.rect.setAttribute('fill', HIGHLIGHT);
				spans.push([f.s, f.s + f.n]);
			} else {
				f.rect.setAttribute('fill', f.fill);
			}
		}
		// Frames are nested or disjoint, so the union of the matching spans
		// counts every sample once, however many matching frames it is under.
		spans.sort(function (a, b) { return a[0] - b[0]; });
		var total = 0, end = -1;
		for (var k = 0; k < spans.length; k++) {
			var a = spans[k][0], b = spans[k][1];
			if (a >= end) {
				total += b - a;
				end = b;
			} else if (b > end) {
				total += b - end;
				end = b;
			}
		}
		var pct = root && root.n > 0 ? 100 * total / root.n : 0;
		showMatched('Matched: ' + pct.toFixed(2) + '%');
		searchEl.textContent = 'Reset Search';
		placeCase();
		setUrlTerm(term);
	}

	function askSearch() {
		var term = window.prompt('Search for (regular expression):', current === null ? '' : current);
		search(term);
	}

	// The case toggle sits left of the Search control, whose text changes.
	// The class toggle sits left of the case toggle.
	function placeClasses() {
		if (classesEl && caseEl)
			classesEl.setAttribute('x', String(Number(caseEl.getAttribute('x')) -
				caseEl.getComputedTextLength() - 3 * charWidth));
	}

	function placeCase() {
		if (caseEl && searchEl && viewW)
			caseEl.setAttribute('x', String(Number(searchEl.getAttribute('x')) -
				searchEl.getComputedTextLength() - 3 * charWidth));
		placeClasses();
	}

	// Keep ?s=TERM (and i=1) in the address so a reload or a shared link
	// shows the search.
	function setUrlTerm(term) {
		try {
			var url = new URL(window.location.href);
			if (term === null)
				url.searchParams.delete('s');
			else
				url.searchParams.set('s', term);
			if (term !== null && ignoreCase)
				url.searchParams.set('i', '1');
			else
				url.searchParams.delete('i');
			if (url.href !== window.location.href)
				window.history.replaceState(null, '', url.href);
		} catch (e) {
			// file:// pages may refuse; the search itself still works.
		}
	}

	function frameOf(el) {
		while (el && el !== framesEl) {
			if (el.__frame)
				return el.__frame;
			el = el.parentNode;
		}
		return null;
	}

	init();
	resetEl.style.display = 'none';
	showMatched('');
	fitWindow();
	window.addEventListener('resize', fitWindow);
	resetEl.addEventListener('click', unzoom);
	if (caseEl)
		caseEl.addEventListener('click', function () {
			setIgnoreCase(!ignoreCase);
		});
	if (classesEl)
		classesEl.addEventListener('click', function () {
			setByClass(!byClass);
		});
	searchEl.addEventListener('click', function () {
		if (current !== null)
			clearSearch();
		else
			askSearch();
	});
	if (framesEl) {
		framesEl.addEventListener('click', function (e) {
			var f = frameOf(e.target);
			if (f)
				zoom(f);
		});
		framesEl.addEventListener('mouseover', function (e) {
			var f = frameOf(e.target);
			if (f)
				details.textContent = 'Function: ' +
					f.g.getElementsByTagName('title')[0].textContent;
		});
		framesEl.addEventListener('mouseout', function () {
			details.textContent = ' ';
		});
	}
	window.addEventListener('keydown', function (e) {
		if (((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F')) || e.key === 'F3') {
			e.preventDefault();
			askSearch();
		} else if (e.key === 'Escape') {
			if (current !== null)
				clearSearch();
		} else if ((e.key === 'i' || e.key === 'I') && !e.ctrlKey && !e.metaKey && !e.altKey) {
			setIgnoreCase(!ignoreCase);
		} else if ((e.key === 'c' || e.key === 'C') && !e.ctrlKey && !e.metaKey && !e.altKey) {
			setByClass(!byClass);
		}
	});
	var params = null;
	try {
		params = new URLSearchParams(window.location.search);
	} catch (e) {
		params = null;
	}
	if (params && params.get('i') === '1')
		setIgnoreCase(true);
	if (params && params.get('c') === '1')
		setByClass(true);
	if (params && params.get('s'))
		search(params.get('s'));
})();
