// Package summary turns a transaction log into the per-customer summary that the
// customer-base models work on: frequency x, recency t_x, age T and the mean repeat spend, per
// customer, in the literature's conventions (Fader, Hardie & Lee 2005). It is pure computation
// and imports nothing from Kubernetes.
//
// # Conventions
//
// Transactions are counted per customer per calendar day (UTC): a customer's rows on the same
// day are one transaction whose value is their sum. With the distinct transaction days of the
// calibration period d_1 < ... < d_n:
//
//   - Frequency x = n - 1 (repeat transactions);
//   - Recency t_x = d_n - d_1;
//   - Age T = E - d_1, where E is the calibration end date;
//   - Monetary = the mean value of the repeat days, (total - value of d_1) / x; 0 when x = 0.
//
// All differences are whole days converted to the time unit (Week = days/7, Month =
// days/(365.25/12), both fractional). Measuring T between dates, like t_x, means a purchase on
// the calibration end day has t_x = T; it is the convention of the published CDNOW summary
// (a first purchase on 1997-01-01 with calibration end 1997-09-30 has T = 272/7 = 38.86 weeks,
// as in cdnow_sample_rfm_39w.csv), and equivalently "from the end of the first purchase day to
// the end of the calibration end day". The calibration end is taken as the calendar date of
// Options.CalibrationEnd in its own location (build it in UTC).
//
// Transactions after the calibration end and up to Options.ObservationEnd are holdout
// transactions (HoldoutTransactions counts their distinct days); rows after the observation end
// are counted as FutureRows and otherwise ignored. Customers whose first transaction is in the
// holdout are counted in HoldoutOnlyCustomers and are not in Customers.
//
// # Returns
//
// Under ReturnsNet a negative amount is a return or a refund, not a purchase: it reduces
// HistoricValue (or HoldoutValue) and the value of its day, but does not by itself make a
// transaction day (a day with only refunds is not a purchase). Refunds on the first purchase day
// reduce that day's value; all other refunds reduce the repeat spend, so Monetary is
// (HistoricValue - value of the first day) / x and can be lowered, even made negative, by
// refunds on non-purchase days. A zero amount is a purchase. ReturnsExclude drops negative rows
// (counted in ExcludedReturns); ReturnsReject makes them invalid rows.
//
// # Memory and unsorted input
//
// The Builder keeps a fixed-size, pointer-free state per customer: 64 bytes (one cache line)
// plus 32 with a holdout window, plus the id's bytes in an append-only arena and 16 bytes of
// hash index. The state holds the first and last transaction day, the count of distinct days, a
// bitmap of the 64 days up to the last one, the first day's value and the sums. Rows need not
// be sorted: a row whose day is after the last day, within 64 days of it, equal to the first day
// or before the first day is placed exactly from that state. Chronological input, input grouped
// by customer and sorted by date, reverse-chronological input and input shuffled within two
// months all go through that path.
//
// Only a row dated strictly between the first day and 64 days before the last one cannot be
// placed from the state: has the customer bought that day already? For those rows (a customer
// whose rows arrive far out of order) the Builder falls back to a day set: it keeps a compact
// log of the known days that left the 64-day window (8 bytes each; about half of all
// transaction days for a typical year of data, since a customer's last two months and first
// day stay in the state) and the list of the ambiguous rows, and Finish settles each ambiguous
// (customer, day) against the log. The summary is therefore exact for any row order. The log
// is the one structure that grows with transaction days rather than customers (about 36 MB
// for 10 million rows); Finish drops it, and when it was large returns the freed memory to the
// operating system (runtime/debug.FreeOSMemory) before it allocates the customers' rows, so that
// the peak is not their sum. Negative amounts dated before a customer's first transaction day
// (a refund before any purchase, rare) are kept per day in a small per-customer map in case
// that day becomes the first purchase day.
//
// At 1 million customers and 10 million rows the peak is the end of Finish: the states (64 MB)
// and the Summary's rows (48 bytes each, 48 MB: days instead of times, int32 counts, a reference
// into the id arena the Builder hands over, an index into the shared attribute tuples; the
// holdout value in a side slice only with a holdout window). A Customer is a view built from a
// row on demand (Summary.Customer, Summary.All). The states, the day log and the id table are
// advised onto transparent huge pages (internal/memadvise): at ten million customers the row
// lookups are random reads over ~1 GB, and with 4 KiB pages most of them missed the TLB.
//
// # Activity
//
// Options.ActivityCustomers asks for every admitted row as (customer, day, amount), 16 bytes a
// row, as long as there are at most that many customers (the pipeline's cohorts use 200,000):
// the cohorts are then built from the rows already parsed, not from a second reading.
//
// # CSV input
//
// ReadCSV parses CSV (RFC 4180: comma separator, quoted fields with "" escapes and embedded
// line breaks, LF or CRLF line ends, with or without a final line end, a UTF-8 byte-order mark
// allowed, empty lines skipped; a CRLF inside a quoted field reads as LF, as in encoding/csv)
// with its own byte-level parser that finds separators eight bytes at a time; a row costs no
// allocation. Three goroutines share the work: one reads the input, hashes it
// (Summary.Digest) and, when it starts with the gzip magic bytes, decompresses it
// (klauspost/compress); one parses and validates rows; one applies them to the customers'
// states, in batches whose hash-table slots and states are loaded together so that their cache
// misses overlap. ReadCSV returns only after all three have stopped; it never reads from r
// after returning. Header names and mapped fields
// are trimmed of surrounding spaces and tabs. Timestamps are 2006-01-02, 20060102, RFC 3339
// (2006-01-02T15:04:05 with optional fractional seconds and zone, converted to the UTC day) or
// 2006-01-02 15:04:05 (UTC unless a zone follows). Amounts are plain decimal numbers (optional
// sign, optional exponent); NaN, infinities and thousands separators are invalid.
//
// # Errors
//
// A mapped column missing from the header, a mapped column that appears twice, or an input with
// no header line is a *ColumnError. A malformed row (wrong field count, empty customer ID,
// unparsable timestamp or amount, negative amount under ReturnsReject, bad quoting) is a
// *RowError naming the line, the column and the value; up to Options.MaxInvalidRows of them are
// skipped and counted, one more fails the summary with an *InvalidRowsError wrapping the first.
// No data rows, or no transaction in the calibration window, gives an error wrapping ErrNoData.
package summary
