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
// The Builder keeps a fixed-size state per customer (about 70 bytes, plus 32 with a holdout
// window, plus the id): first and last transaction day, the count of distinct days, a bitmap
// of the 64 days up to the last one, the first day's value and the sums. Rows need not be
// sorted. A row whose day is after the last day, within 64 days of it, equal to the first day or
// before the first day is placed exactly from that state, so chronological input, input grouped
// by customer and sorted by date, reverse-chronological input and input shuffled within about
// two months all run in O(customers) memory with no fallback.
//
// Only a row whose day lies strictly between the first day and 64 days before the last day,
// and is not in the bitmap, cannot be told from that state: has the customer bought that day
// already? For those the Builder keeps a compact log of every customer-day it has counted (8
// bytes each) and a list of the ambiguous rows; Finish looks the ambiguous (customer, day)
// pairs up in the log, so the summary is exact for any row order. The log is the one part that
// grows with the number of transaction days rather than customers (about 8 bytes per
// transaction day, e.g. 80 MB for 10 million); it is released in Finish before the Customers
// slice is allocated. Negative amounts dated before a customer's first transaction day (rare:
// a refund before any purchase) are kept per day in a small per-customer map in case that day
// becomes the first purchase day.
//
// # CSV input
//
// ReadCSV parses CSV (RFC 4180: comma separator, quoted fields with "" escapes and embedded
// line breaks, LF or CRLF line ends, with or without a final line end, a UTF-8 byte-order mark
// allowed, empty lines skipped) with its own byte-level parser: a row costs no allocation, and
// the input is read, hashed (Summary.Digest) and, when it starts with the gzip magic bytes,
// decompressed in a second goroutine while the first one parses. Header names and mapped fields
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
