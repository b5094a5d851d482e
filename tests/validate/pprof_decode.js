#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Decodes a pprof file with an independent decoder, the npm package
// pprof-format (DataDog's profile.proto reader, not Google's), and prints
// what it holds as plain JSON for tests/e2e/consumer_pprof.py to compare
// with cspy's own JSON of the same profile:
//
//   node pprof_decode.js FILE.pb.gz
//
// Output: {"sample_types": [[type, unit]...], "period_type": [type, unit],
// "period", "default_sample_type", "time_nanos", "duration_nanos",
// "comments": [...], "samples": [{"values": [...], "locations": [{"name",
// "file", "line", "mapping"}...] (leaf first), "labels": [[key, value]...]
// (a number label's value is a number)}]}. Every id is resolved here
// (location -> function -> strings, mapping -> file name), and any id that
// does not resolve is an error (exit 1, the reason on stderr), as is a file
// that is not gzip or does not decode.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const MODULE = path.join(__dirname, 'node_modules', 'pprof-format');

function fail(why) {
	process.stderr.write(`pprof_decode: ${why}\n`);
	process.exit(1);
}

function main() {
	const file = process.argv[2];
	if (!file)
		fail('usage: node pprof_decode.js FILE.pb.gz');
	let Profile;
	try {
		({ Profile } = require(MODULE));
	} catch (e) {
		fail(`cannot load ${MODULE}: ${e.message}`);
	}
	const raw = fs.readFileSync(file);
	if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b)
		fail(`${file} is not gzip-compressed`);
	const p = Profile.decode(zlib.gunzipSync(raw));
	const strings = p.stringTable.strings;
	const str = (i) => {
		const n = Number(i);
		if (!Number.isInteger(n) || n < 0 || n >= strings.length)
			fail(`string index ${i} out of range (${strings.length} strings)`);
		return strings[n];
	};
	if (strings[0] !== '')
		fail('string_table[0] is not ""');
	const byId = (list, what) => {
		const m = new Map();
		for (const x of list) {
			const id = Number(x.id);
			if (!id || m.has(id))
				fail(`${what} id ${x.id} is zero or repeated`);
			m.set(id, x);
		}
		return m;
	};
	const mappings = byId(p.mapping, 'mapping');
	const functions = byId(p.function, 'function');
	const locations = byId(p.location, 'location');
	const location = (id) => {
		const l = locations.get(Number(id));
		if (!l)
			fail(`sample names location ${id}, which is not there`);
		if (l.line.length !== 1)
			fail(`location ${id} has ${l.line.length} lines, cspy writes one`);
		const f = functions.get(Number(l.line[0].functionId));
		if (!f)
			fail(`location ${id} names function ${l.line[0].functionId}, which is not there`);
		let mapping = null;
		if (Number(l.mappingId)) {
			const m = mappings.get(Number(l.mappingId));
			if (!m)
				fail(`location ${id} names mapping ${l.mappingId}, which is not there`);
			mapping = str(m.filename);
		}
		return { name: str(f.name), file: str(f.filename), line: Number(l.line[0].line),
			 mapping };
	};
	const vt = (v) => [str(v.type), str(v.unit)];
	const out = {
		sample_types: p.sampleType.map(vt),
		period_type: p.periodType ? vt(p.periodType) : null,
		period: Number(p.period),
		default_sample_type: str(p.defaultSampleType),
		time_nanos: String(p.timeNanos),
		duration_nanos: String(p.durationNanos),
		comments: p.comment.map(str),
		samples: p.sample.map((s) => {
			if (s.value.length !== p.sampleType.length)
				fail(`a sample has ${s.value.length} values for ${p.sampleType.length} types`);
			return {
				values: s.value.map(Number),
				locations: s.locationId.map(location),
				labels: s.label.map((l) => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)]),
			};
		}),
	};
	process.stdout.write(JSON.stringify(out) + '\n');
}

main();
