// Salted SHA-256 of the four columns pseudokit codes (fnr, email, first_name,
// last_name), in DuckDB through its Node API: the same job as run.sh's duckdb
// CLI branch, for machines with no duckdb CLI. Prints nothing but errors.
//
//   node duckdb-hash.mjs SALT IN.csv OUT.csv
//   node duckdb-hash.mjs SALT IN.parquet OUT.parquet
//   node duckdb-hash.mjs --version      # prints DuckDB's version
//
// SALT is hex; each value v becomes sha256(SALT || v) as lower-case hex, SALT
// taken as the hex text itself (as the CLI branch's SQL does). DuckDB runs
// with 2 threads.
import { DuckDBInstance } from '@duckdb/node-api';

const threads = '2';

async function connect() {
	const db = await DuckDBInstance.create(':memory:', { threads });
	return db.connect();
}

function lit(s) { // an SQL string literal
	return "'" + s.replaceAll("'", "''") + "'";
}

async function main(argv) {
	if (argv.length === 1 && argv[0] === '--version') {
		const c = await connect();
		const r = await c.runAndReadAll('SELECT version()');
		console.log(r.getRows()[0][0]);
		return;
	}
	if (argv.length !== 3) {
		throw new Error('usage: node duckdb-hash.mjs SALT IN OUT (IN and OUT both .csv or both .parquet) | --version');
	}
	const [salt, input, output] = argv;
	if (!/^[0-9a-fA-F]+$/.test(salt)) {
		throw new Error('SALT must be hex');
	}
	const kind = (f) => f.endsWith('.csv') ? 'csv' : f.endsWith('.parquet') ? 'parquet' : null;
	if (kind(input) === null || kind(input) !== kind(output)) {
		throw new Error(`IN and OUT must both end in .csv or both in .parquet: ${input}, ${output}`);
	}
	const h = (col) => `sha256(${lit(salt)} || ${col}) AS ${col}`;
	const hashed = `* REPLACE (${['fnr', 'email', 'first_name', 'last_name'].map(h).join(', ')})`;
	const sql = kind(input) === 'csv'
		? `COPY (SELECT ${hashed} FROM read_csv(${lit(input)}, all_varchar = true)) TO ${lit(output)} (HEADER, DELIMITER ',')`
		: `COPY (SELECT ${hashed} FROM read_parquet(${lit(input)})) TO ${lit(output)} (FORMAT parquet)`;
	const c = await connect();
	await c.run(sql);
}

try {
	await main(process.argv.slice(2));
} catch (e) {
	console.error(`duckdb-hash: ${e.message}`);
	process.exit(1);
}
