#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Checks cspy's speedscope, raw (collapsed), chrometrace and json outputs in
// the programs that read them, and checks that they say the same thing.
//
//   node check_formats.js [--no-browser] CASE_DIR...
//
// Each CASE_DIR holds the outputs of one profile: cspy.json (the reference:
// cspy's own JSON, which carries the whole model), and any of speedscope.json,
// raw.txt, chrometrace.json. For each case:
//   - every JSON file must parse (JSON.parse);
//   - cspy.json: ids in range, counts adding up to meta.samples;
//   - speedscope.json: valid against speedscope's file-format-schema.json
//     (ajv), samples/weights of equal length, endValue = sum of weights;
//   - raw.txt: every line "frames COUNT", sorted, no duplicates, and equal to
//     the stacks of cspy.json merged by label;
//   - chrometrace.json: B/E events balanced and properly nested per thread,
//     time never going back, metadata naming every thread, and the time spent
//     in each stack equal to its samples x the sampling period;
//   - in the real speedscope app (headless Chromium through playwright-core),
//     speedscope.json, raw.txt and chrometrace.json must load (page title
//     "<name> - speedscope", no alert, no page error, no importer warning),
//     and the profile speedscope exports back must hold the expected stacks
//     and weights, thread by thread.
// Prints one line per check and ends with "N passed, N failed".
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const MODULES = path.join(__dirname, 'node_modules');
const SPEEDSCOPE = path.join(MODULES, 'speedscope', 'dist', 'release');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
	'--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

let passed = 0, failed = 0;
function report(ok, what, why) {
	if (ok) {
		passed++;
		console.log(`ok   ${what}`);
	} else {
		failed++;
		console.log(`FAIL ${what}: ${why}`);
	}
}
// Run fn (which throws on failure) as one check.
async function check(what, fn) {
	try {
		await fn();
		report(true, what);
	} catch (e) {
		report(false, what, e && e.message ? e.message : String(e));
	}
}
// Browser checks are queued and run a few at a time (each waits mostly on
// the app), then reported in queue order.
const browserChecks = [];
function checkLater(what, fn) {
	browserChecks.push({ what, fn });
}
async function runLater(parallel) {
	const results = new Array(browserChecks.length);
	let next = 0;
	async function worker() {
		while (next < browserChecks.length) {
			const i = next++;
			try {
				await browserChecks[i].fn();
				results[i] = null;
			} catch (e) {
				results[i] = e && e.message ? e.message : String(e);
			}
		}
	}
	await Promise.all(Array.from({ length: parallel }, worker));
	browserChecks.forEach((c, i) => report(results[i] === null, c.what, results[i]));
}
function assert(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

// Several U+FFFD in a row count as one: encoders may replace a bad sequence
// by one or by one per byte.
const norm = s => s.replace(/\uFFFD+/g, '\uFFFD');

// The label cspy gives a frame (profile_frame_label with short file names).
function cspyLabel(f) {
	if (f.kind === 'process' || f.kind === 'thread' || f.kind === 'interpreter' || f.kind === 'other' || f.kind === 'task' || !f.short_filename)
		return f.name;
	return f.line >= 0 ? `${f.name} (${f.short_filename}:${f.line})` : `${f.name} (${f.short_filename})`;
}
// The rate samples were really taken at (profile_sample_rate in
// src/agg/profile.c): ticks / duration when both are known, else the
// requested rate. A sample stands for 1 / rate seconds.
function sampleRate(meta) {
	return meta.ticks > 0 && meta.duration_ns > 0 ? meta.ticks * 1e9 / meta.duration_ns : meta.rate_hz;
}
// The label of a trace event: its name is the function's, its args hold the
// full file name and the line (py-spy's fields); the label uses the short
// file name cspy.json gives for that full name.
function traceLabel(name, args, shortOf) {
	if (!args || typeof args.filename !== 'string')
		return name;
	assert(shortOf.has(args.filename), `args.filename ${JSON.stringify(args.filename)} is no frame's filename`);
	assert(args.line === null || Number.isInteger(args.line), `args.line ${args.line}`);
	const file = shortOf.get(args.filename);
	return args.line !== null ? `${name} (${file}:${args.line})` : `${name} (${file})`;
}
function shortNames(ref) {
	const m = new Map();
	for (const f of ref.frames)
		if (f.filename)
			m.set(f.filename, f.short_filename);
	return m;
}
// The label of a frame speedscope made from a trace event: it names it
// `NAME {"filename":...,"line":...}` (the event's name and its args).
function importedTraceLabel(f, shortOf) {
	const i = f.name.lastIndexOf(' {"filename":');
	if (i < 0)
		return f.name;
	return traceLabel(f.name.substring(0, i), JSON.parse(f.name.substring(i + 1)), shortOf);
}
// The label a speedscope frame {name, file, line} stands for.
function speedscopeLabel(f) {
	if (!f.file)
		return f.name;
	return f.line != null ? `${f.name} (${f.file}:${f.line})` : `${f.name} (${f.file})`;
}
const rawSafe = s => s.replace(/;/g, ':').replace(/[\n\r]/g, ' ');
const KEY_SEP = '\u0000';

function addTo(map, key, n) {
	map.set(key, (map.get(key) || 0) + n);
}

// Expected stacks from cspy.json: per thread index, and merged over threads
// with raw-safe labels. Keys are labels joined by NUL.
function expectedStacks(ref, unnamed) {
	const labels = ref.frames.map(f => norm(cspyLabel(f) || unnamed || ''));
	const perThread = ref.threads.map(() => new Map());
	const merged = new Map();
	for (const s of ref.stacks) {
		if (!s.frames.length)
			continue;
		const ls = s.frames.map(i => labels[i]);
		addTo(perThread[s.thread], ls.join(KEY_SEP), s.count);
		addTo(merged, ls.map(rawSafe).join(KEY_SEP), s.count);
	}
	return { perThread, merged };
}

function compareStacks(got, want) {
	const errs = [];
	for (const [k, v] of want)
		if (got.get(k) !== v)
			errs.push(`${JSON.stringify(k.split(KEY_SEP).join(';'))}: want ${v}, got ${got.get(k)}`);
	for (const [k, v] of got)
		if (!want.has(k))
			errs.push(`unexpected ${JSON.stringify(k.split(KEY_SEP).join(';'))} (${v})`);
	assert(!errs.length, `${errs.length} stack(s) differ: ${errs.slice(0, 3).join('; ')}`);
}

// Stacks and time of an evented profile (speedscope's export), weights
// converted to samples by toCount and rounded; zero-sample blips are left out.
function replayEvented(prof, labels, toCount) {
	const stack = [], dur = new Map();
	let at = prof.startValue;
	for (const ev of prof.events) {
		if (ev.at < at)
			throw new Error(`event time goes back: ${ev.at} < ${at}`);
		if (stack.length && ev.at > at)
			addTo(dur, stack.map(i => labels[i]).join(KEY_SEP), ev.at - at);
		at = ev.at;
		if (ev.type === 'O')
			stack.push(ev.frame);
		else if (stack.pop() !== ev.frame)
			throw new Error(`close of frame ${ev.frame} that is not on top`);
	}
	assert(!stack.length, 'frames still open at the end');
	const out = new Map();
	for (const [k, v] of dur) {
		const n = Math.round(toCount(v));
		if (n)
			addTo(out, k, n);
	}
	return out;
}

function checkProfjson(ref) {
	assert(ref.cspy && ref.cspy.format_version === 1 && typeof ref.cspy.version === 'string', 'cspy header');
	const m = ref.meta;
	for (const k of ['title', 'command_line', 'python_version'])
		assert(typeof m[k] === 'string', `meta.${k} is not a string`);
	for (const k of ['rate_hz', 'start_unix_ns', 'duration_ns', 'samples', 'errors'])
		assert(typeof m[k] === 'number' && m[k] >= 0, `meta.${k} is not a number`);
	for (const k of ['gil_only', 'idle_included', 'native'])
		assert(typeof m[k] === 'boolean', `meta.${k} is not a boolean`);
	const kinds = new Set(['python', 'native', 'process', 'interpreter', 'thread', 'other', 'task']);
	for (const f of ref.frames)
		assert(typeof f.name === 'string' && typeof f.filename === 'string' &&
		       typeof f.short_filename === 'string' && Number.isInteger(f.line) && kinds.has(f.kind),
		       `bad frame ${JSON.stringify(f)}`);
	const perThread = ref.threads.map(() => 0);
	let total = 0;
	for (const s of ref.stacks) {
		assert(Number.isInteger(s.thread) && s.thread >= 0 && s.thread < ref.threads.length, 'stack thread out of range');
		assert(s.frames.every(i => Number.isInteger(i) && i >= 0 && i < ref.frames.length), 'frame id out of range');
		assert(Number.isInteger(s.count) && s.count > 0, 'bad count');
		perThread[s.thread] += s.count;
		total += s.count;
	}
	assert(total === m.samples, `stack counts add up to ${total}, meta.samples is ${m.samples}`);
	ref.threads.forEach((t, i) => assert(t.samples === perThread[i],
		`thread ${t.tid}: samples ${t.samples}, its stacks ${perThread[i]}`));
}

function checkSpeedscopeFile(doc, ref, bytes) {
	const Ajv = require(path.join(MODULES, 'ajv'));
	const schema = JSON.parse(fs.readFileSync(path.join(SPEEDSCOPE, 'file-format-schema.json'), 'utf8'));
	const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
	assert(validate(doc), 'schema: ' + JSON.stringify((validate.errors || []).slice(0, 3)));
	assert(doc.$schema === 'https://www.speedscope.app/file-format-schema.json', '$schema');
	assert(/^cspy \d+\.\d+/.test(doc.exporter), `exporter ${doc.exporter}`);
	const nframes = doc.shared.frames.length;
	for (const p of doc.profiles) {
		assert(p.samples.length === p.weights.length, `${p.name}: ${p.samples.length} samples, ${p.weights.length} weights`);
		let sum = p.startValue;
		for (const w of p.weights)
			sum += w;
		assert(sum === p.endValue, `${p.name}: endValue ${p.endValue}, weights add up to ${sum}`);
		assert(p.samples.every(s => s.every(i => Number.isInteger(i) && i >= 0 && i < nframes)),
		       `${p.name}: frame index out of range`);
		if (!bytes)
			assert(p.unit === (ref.meta.rate_hz > 0 ? 'seconds' : 'none'), `${p.name}: unit ${p.unit}`);
	}
}

// A --memory profile (meta.memory): before any time profile, per thread
// with bytes a "... memory growth" and a "... memory shrink" profile in
// bytes whose samples are the thread's stacks with bytes, weighing them.
function checkSpeedscopeMemory(doc, ref) {
	const label = (ids, frames) => ids.map(i => frames[i].name).join(';');
	const want = new Map(), got = new Map();
	ref.stacks.forEach(s => {
		const t = ref.threads[s.thread];
		for (const k of ['grow', 'shrink']) {
			if (!s.memory || !s.memory[k])
				continue;
			const key = `${t.pid}:${t.tid}:${k === 'grow' ? 'growth' : 'shrink'}:${label(s.frames, ref.frames)}`;
			want.set(key, (want.get(key) || 0) + s.memory[k]);
		}
	});
	for (const p of doc.profiles) {
		const m = /^Process (-?\d+) Thread (-?\d+).* memory (growth|shrink)$/.exec(p.name);
		if (!m)
			continue;
		assert(p.unit === 'bytes', `${p.name}: unit ${p.unit}`);
		p.samples.forEach((s, i) => {
			const key = `${m[1]}:${m[2]}:${m[3]}:${label(s, doc.shared.frames)}`;
			got.set(key, (got.get(key) || 0) + p.weights[i]);
		});
	}
	const a = JSON.stringify([...want].sort()), b = JSON.stringify([...got].sort());
	assert(a === b, `bytes per thread and stack: ${b.slice(0, 300)}, expected ${a.slice(0, 300)}`);
	const first = doc.profiles[doc.activeProfileIndex];
	assert(first && first.unit === 'bytes' && / memory growth$/.test(first.name), 'the active profile: ' +
	       (first && first.name));
}

function checkRaw(buf, want) {
	assert(!buf.length || buf[buf.length - 1] === 0x0a, 'the file does not end with a newline');
	const got = new Map();
	let prev = null;
	for (let start = 0; start < buf.length;) {
		const end = buf.indexOf(0x0a, start);
		const bytes = buf.subarray(start, end);
		start = end + 1;
		const l = bytes.toString('utf8');
		const m = /^(.*) (\d+)$/.exec(l);
		assert(m, `malformed line ${JSON.stringify(l)}`);
		const stack = bytes.subarray(0, bytes.lastIndexOf(0x20));
		assert(prev === null || Buffer.compare(prev, stack) < 0,
		       `not sorted by bytes, or a duplicate: ${JSON.stringify(m[1])}`);
		prev = stack;
		addTo(got, norm(m[1]).split(';').join(KEY_SEP), Number(m[2]));
	}
	compareStacks(got, want);
}

// Structure of the trace and the time of each stack (in samples), per thread.
function checkTrace(doc, ref) {
	assert(Array.isArray(doc.traceEvents), 'traceEvents is not an array');
	assert(doc.displayTimeUnit === 'ms' || doc.displayTimeUnit === 'ns', 'displayTimeUnit');
	const rate = sampleRate(ref.meta);
	const period_us = rate > 0 ? Math.floor(1e9 / rate) / 1e3 : 1;
	const shortOf = shortNames(ref);
	const threads = new Map(), named = new Set(), procs = new Set();
	for (const e of doc.traceEvents) {
		assert(Number.isInteger(e.pid) && Number.isInteger(e.tid), `event without pid/tid: ${JSON.stringify(e)}`);
		const key = `${e.pid}:${e.tid}`;
		if (e.ph === 'M') {
			assert(e.args && typeof e.args.name === 'string', 'metadata event without args.name');
			if (e.name === 'thread_name')
				named.add(key);
			else if (e.name === 'process_name')
				procs.add(e.pid);
			continue;
		}
		assert(e.ph === 'B' || e.ph === 'E', `unexpected phase ${e.ph}`);
		assert(typeof e.name === 'string' && typeof e.cat === 'string' && Number.isFinite(e.ts), 'B/E fields');
		if (!threads.has(key))
			threads.set(key, { stack: [], ts: -Infinity, at: 0, dur: new Map() });
		const t = threads.get(key);
		assert(e.ts >= t.ts, `${key}: time goes back at ts=${e.ts}`);
		if (t.stack.length && e.ts > t.ts)
			addTo(t.dur, t.stack.join(KEY_SEP), e.ts - t.ts);
		t.ts = e.ts;
		const label = norm(traceLabel(e.name, e.args, shortOf));
		if (e.ph === 'B') {
			t.stack.push(label);
		} else {
			const top = t.stack.pop();
			assert(top === label, `${key}: E "${label}" while "${top}" is open (ts=${e.ts})`);
		}
	}
	const { perThread } = expectedStacks(ref);
	for (const [key, t] of threads) {
		assert(!t.stack.length, `${key}: ${t.stack.length} frames left open`);
		assert(named.has(key), `${key}: no thread_name`);
		assert(procs.has(Number(key.split(':')[0])), `${key}: no process_name`);
		const idx = ref.threads.findIndex(r => `${r.pid}:${r.tid}` === key);
		assert(idx >= 0, `${key}: not a thread of the profile`);
		const got = new Map();
		for (const [k, v] of t.dur) {
			const n = Math.round(v / period_us);
			if (n)
				addTo(got, k, n);
		}
		compareStacks(got, perThread[idx]);
	}
	const withSamples = ref.threads.filter(r => r.samples > 0).length;
	assert(threads.size === withSamples, `${threads.size} threads with events, ${withSamples} with samples`);
}

// Load `file` into the speedscope app under `name`; resolves to the profile
// speedscope exports (its own format, evented), or throws.
async function loadInSpeedscope(browser, file, name, expectTitle, tmp) {
	const ctx = await browser.newContext({ acceptDownloads: true });
	const page = await ctx.newPage();
	const problems = [];
	page.on('pageerror', e => problems.push(`page error: ${e.message}`));
	page.on('dialog', d => {
		problems.push(`alert: ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	page.on('console', m => {
		const t = m.text();
		if (/Tried to end|still open at end|Failed to load format|Could not find/.test(t))
			problems.push(`speedscope: ${t.slice(0, 200)}`);
	});
	try {
		const js = path.join(tmp, `load-${name.replace(/[^\w.-]/g, '_')}.js`);
		fs.writeFileSync(js, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ` +
				     `${JSON.stringify(fs.readFileSync(file).toString('base64'))});\n`);
		await page.goto(`file://${path.join(SPEEDSCOPE, 'index.html')}#localProfilePath=${js}`,
				{ waitUntil: 'commit', timeout: 120000 });
		// Chromium's document.title turns control characters into spaces,
		// collapses runs of whitespace and trims.
		const ws = t => t.replace(/[\x00-\x20\x7f]+/g, ' ').trim();
		const want = ws(`${expectTitle} - speedscope`);
		const deadline = Date.now() + 120000;
		while (ws(await page.title()) !== want) {
			if (problems.length)
				throw new Error(problems.join('; '));
			if (Date.now() > deadline)
				throw new Error(`title is "${await page.title()}", not "${want}"`);
			await page.waitForTimeout(100);
		}
		const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 60000 }),
						page.getByText('Export').click()]);
		const exported = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
		if (problems.length)
			throw new Error(problems.join('; '));
		return exported;
	} finally {
		await ctx.close();
	}
}

// The speedscope export of a multi-thread profile, checked thread by thread.
// threadOf(profileName) gives "pid:tid".
// unnamed: what the importer calls a frame without a name (trace import).
// labelOf: the label of an exported frame (default: speedscopeLabel).
function checkExport(exp, ref, threadOf, toCount, unnamed, labelOf) {
	const labels = exp.shared.frames.map(f => norm((labelOf || speedscopeLabel)(f)));
	const { perThread } = expectedStacks(ref, unnamed);
	const withSamples = ref.threads.filter(r => r.samples > 0).length;
	assert(exp.profiles.length === withSamples, `${exp.profiles.length} profiles, ${withSamples} threads with samples`);
	for (const p of exp.profiles) {
		const key = threadOf(p.name);
		const idx = ref.threads.findIndex(r => `${r.pid}:${r.tid}` === key);
		assert(idx >= 0, `profile "${p.name}" is no thread of the profile`);
		compareStacks(replayEvented(p, labels, toCount(p.unit)), perThread[idx]);
	}
}

async function main() {
	const args = process.argv.slice(2);
	const browserWanted = !args.includes('--no-browser');
	const cases = args.filter(a => a !== '--no-browser');
	if (!cases.length) {
		console.error('usage: node check_formats.js [--no-browser] CASE_DIR...');
		process.exit(2);
	}
	let browser = null;
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cspy-formats-'));
	if (browserWanted) {
		const { chromium } = require(path.join(MODULES, 'playwright-core'));
		browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
	}
	try {
		for (const dir of cases) {
			const name = path.basename(dir);
			const file = f => path.join(dir, f);
			const has = f => fs.existsSync(file(f));
			let ref = null;
			await check(`${name} cspy.json parses and is consistent`, () => {
				ref = JSON.parse(fs.readFileSync(file('cspy.json'), 'utf8'));
				checkProfjson(ref);
			});
			if (!ref)
				continue;
			const rate = sampleRate(ref.meta);
			const toCount = unit => unit === 'seconds' ? v => v * rate
				: unit === 'microseconds' ? v => v * rate / 1e6 : v => v;
			if (has('speedscope.json')) {
				let doc = null;
				await check(`${name} speedscope.json parses and matches the schema`, () => {
					doc = JSON.parse(fs.readFileSync(file('speedscope.json'), 'utf8'));
					if (ref.meta.memory) {          // bytes, not times: the schema and the bytes
						checkSpeedscopeFile(doc, ref, true);
						checkSpeedscopeMemory(doc, ref);
					} else {
						checkSpeedscopeFile(doc, ref);
					}
				});
				if (doc && browser && ref.meta.memory) {
					checkLater(`${name} speedscope.json (bytes) loads in speedscope`, async () => {
						const exp = await loadInSpeedscope(browser, file('speedscope.json'),
							`${name}-speedscope.json`, doc.name, tmp);
						assert(exp.profiles.length === doc.profiles.length,
						       `${exp.profiles.length} profiles exported, ${doc.profiles.length} written`);
					});
					continue;
				}
				if (doc && browser)
					checkLater(`${name} speedscope.json loads in speedscope with the right stacks`, async () => {
						const title = doc.name || (doc.profiles[0] && doc.profiles[0].name) || 'profile';
						const exp = await loadInSpeedscope(browser, file('speedscope.json'), `${name}-speedscope.json`, title, tmp);
						checkExport(exp, ref, n => {
							const m = /^Process (-?\d+) Thread (-?\d+)/.exec(n);
							return m ? `${m[1]}:${m[2]}` : null;
						}, toCount);
					});
			}
			if (has('raw.txt')) {
				const { merged } = expectedStacks(ref);
				await check(`${name} raw.txt is well formed and holds the profile's stacks`, () =>
					checkRaw(fs.readFileSync(file('raw.txt')), merged));
				if (browser && merged.size)
					checkLater(`${name} raw.txt loads in speedscope with the right stacks`, async () => {
						const n = `${name}-raw.txt`;
						const exp = await loadInSpeedscope(browser, file('raw.txt'), n, n, tmp);
						assert(exp.profiles.length === 1, `${exp.profiles.length} profiles`);
						const labels = exp.shared.frames.map(f => norm(f.name));
						compareStacks(replayEvented(exp.profiles[0], labels, v => v), merged);
					});
			}
			if (has('chrometrace.json')) {
				let doc = null;
				await check(`${name} chrometrace.json parses, nests and times every stack`, () => {
					doc = JSON.parse(fs.readFileSync(file('chrometrace.json'), 'utf8'));
					checkTrace(doc, ref);
				});
				if (doc && browser && doc.traceEvents.some(e => e.ph === 'B'))
					checkLater(`${name} chrometrace.json loads in speedscope with the right stacks`, async () => {
						const n = `${name}-chrometrace.json`;
						const exp = await loadInSpeedscope(browser, file('chrometrace.json'), n, n, tmp);
						checkExport(exp, ref, pn => {
							const m = /\(pid (-?\d+)(?:\), .*\(|, )tid (-?\d+)\)$/.exec(pn);
							return m ? `${m[1]}:${m[2]}` : null;
						}, toCount, '(unnamed)', f => importedTraceLabel(f, shortNames(ref)));
					});
			}
		}
		await runLater(Number(process.env.CSPY_BROWSER_JOBS) || 3);
	} finally {
		if (browser)
			await browser.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	if (!browserWanted)
		console.log('skipped: in-browser checks (--no-browser)');
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main().catch(e => {
	console.log(`FAIL internal: ${e && e.stack ? e.stack : e}`);
	console.log(`${passed} passed, ${failed + 1} failed`);
	process.exit(1);
});
