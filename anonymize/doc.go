// Package anonymize turns pseudonymised datasets into anonymous ones:
// measurement of re-identification risk, generalisation hierarchies,
// optimal full-domain generalisation with record suppression (as in ARX),
// and the file job behind `pseudokit anonymize` (issue #5).
//
// # Measuring
//
// A [Counter] reads a stream of Arrow record batches (from CSV or Parquet)
// and counts the distinct combinations of chosen columns: the
// quasi-identifiers (QIs), which an attacker may know, and optionally
// sensitive attributes. Each value is coded to a small integer by a
// per-column dictionary and a row's codes are packed into one uint64 (a byte
// string when they do not fit), so memory grows with the number of distinct
// combinations, not rows. The result is a [Table]; [Table.Report] gives k
// (the smallest equivalence class), the class-size distribution, the records
// and classes below a threshold, sample uniques, prosecutor and marketer
// risk, and distinct-, entropy- and recursive-(c,l)-diversity of sensitive
// attributes. [Measure] does all of it for a file.
//
// # Hierarchies
//
// A [Hierarchy] maps each original value to its generalisation on each
// level. [ReadHierarchy] reads ARX's CSV format (value;level1;...;*);
// builders make hierarchies for the values a column takes: [Intervals]
// (numeric bands with top and bottom coding), [Dates], [Postcodes]
// (Norwegian, by prefix), [Mask] (characters masked from the right), and
// [LoadGroups] (categorical groupings from a file). Every hierarchy is
// checked: every row has the same levels, no value twice, and each level a
// function of the one below; errors name the file and line.
//
// # Optimal generalisation
//
// A [Problem] (a Table, one hierarchy per QI and a [Config]) is searched by
// [Problem.Search] for the transformation — one generalisation level per QI —
// that meets k-anonymity and any l-diversity criteria with at most the
// allowed share of records suppressed, and has the least information loss
// under the chosen [Metric] (ARX's definitions: Loss, Precision,
// Discernibility, AECS, non-uniform Entropy). Each node of the lattice is
// evaluated by rolling up the distinct combinations of an already grouped
// specialisation, never the rows. Predictive tagging (a node meeting the
// criteria implies all its generalisations do; one failing implies all its
// specialisations fail) classifies nodes with few checks, Flash-style binary
// searches along paths; a lower bound of the metric orders the candidates
// and ends the search. Without the monotonicity a criterion lacks under
// suppression, nodes are checked one by one. Lattices larger than
// Config.MaxNodes are searched heuristically within a node budget.
//
// # Anonymising a file
//
// A [Job] applies [Rules] (a YAML file naming each column's role:
// quasi-identifier with its hierarchy, sensitive, drop or keep, and the
// target) to a CSV or Parquet file: it drops codes and direct identifiers (and
// refuses kept columns holding identity numbers or pseudonym codes),
// generalises, suppresses, shuffles the rows with a seed that is not kept,
// verifies the result independently of the search, and writes it atomically
// with a [Summary] in the Parquet metadata or a sidecar JSON file. The
// generalised dataset is held in memory for the shuffle.
//
// See docs/anonymize.md for the rule-file format, the metrics' exact
// definitions and the comparison with ARX.
package anonymize
