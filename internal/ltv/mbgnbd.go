package ltv

// FitModifiedBGNBD fits the MBG/NBD model of Batislam, Denizel & Filiztekin (2007) by maximum
// likelihood: the BG/NBD model in which a customer may also become inactive right after the first
// purchase, so that customers without repeat purchases are not certainly alive. Its likelihood is
//
//	L = B(a, b+x+1)/B(a, b) Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
//	  + B(a+1, b+x)/B(a, b) Gamma(r+x) alpha^r / (Gamma(r) (alpha+tx)^(r+x)),
//
// P(alive) = 1/(1 + a/(b+x) ((alpha+T)/(alpha+tx))^(r+x)), and the conditional expectation is
// (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] P(alive).
// Parameter names: r, alpha, a, b. rows are compressed to unique (X, Tx, T) rows before fitting.
func FitModifiedBGNBD(rows []RFM) (PurchaseModel, error) {
	return fitBetaGeo(rows, true, false)
}

// FitModifiedBGNBDCells is FitModifiedBGNBD on customers already collapsed into cells.
func FitModifiedBGNBDCells(c Cells) (PurchaseModel, error) {
	return fitBetaGeo(c.Rows, true, true)
}
