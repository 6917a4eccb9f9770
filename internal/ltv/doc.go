// Package ltv holds the customer-lifetime-value models: their likelihoods, maximum-likelihood fits,
// per-customer predictions and discounting. It is pure computation and imports nothing from Kubernetes.
//
// Time is measured in the caller's time unit (days, weeks or months); money in the data's currency.
package ltv

// RFM is one row of fitting data: a customer's repeat transactions X, the time of the last
// transaction since the first Tx, and the time from the first transaction to the end of
// observation T. Weight is the number of customers sharing this row (fits run on unique rows).
type RFM struct {
	X, Tx, T float64
	Weight   float64
}
