// Package synth generates a seeded synthetic shop's transaction log as CSV, for benchmarks,
// demos and tests. Customers follow the BG/NBD purchase process and the Gamma-Gamma spend model.
// With a single channel, fits on the output recover the parameters up to sampling error and the
// effect of counting time in whole days (same-day purchases merge; checked at 50,000 customers:
// BG/NBD r, alpha, a, b = 1.25, 20.2, 0.80, 5.91 for 1.2, 18, 0.8, 6 in days; Gamma-Gamma
// p, q, gamma = 5.8, 3.74, 17.1 for 6.25, 3.74, 15.44). The default channels scale λ and the
// spend per channel, so fits on them recover a blend.
//
// Each customer is acquired on a day drawn uniformly from the first half of the window, with a
// first purchase that day. While alive, a customer buys at Poisson rate λ ~ Gamma(R, Alpha) per
// day (Alpha is a rate); after each repeat purchase the customer drops out with probability
// p ~ Beta(A, B). Each customer has ν ~ Gamma(Q, Gamma) (rate) and each transaction's amount is
// Gamma(P, ν) (rate), rounded to cents (at least 0.01). The default channels also differ in
// purchase rate and spend, so that per-channel breakdowns show something; a custom channel list
// has a uniform mix and no such differences.
//
// Rows are written in date order (within a day, in the order purchases were drawn): header
// customer_id,date,amount,channel,country. The output is a pure function of the Config.
package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Config describes the synthetic shop. Zero fields take the defaults below.
type Config struct {
	// Customers is the number of customers (required, > 0).
	Customers int
	Seed      int64
	// Start is the first day of the window (default 2025-01-01) and Days its length (default 365):
	// customers are acquired in the first half, and buy until the end.
	Start time.Time
	Days  int
	// Channels are the acquisition channels (default paid_search, email, organic, social,
	// referral with different mixes and behaviour).
	Channels []string
	// BG/NBD parameters, time in days: λ ~ Gamma(R, Alpha), p ~ Beta(A, B). The defaults give
	// about 9.5 rows per customer over a 365-day window.
	R, Alpha, A, B float64
	// Gamma-Gamma spend: amount ~ Gamma(P, ν), ν ~ Gamma(Q, Gamma). Defaults are the CDNOW
	// estimates (6.25, 3.74, 15.44): a mean amount of about 35.
	P, Q, Gamma float64
}

// Defaults.
const (
	DefaultDays  = 365
	DefaultR     = 1.2
	DefaultAlpha = 18.0
	DefaultA     = 0.8
	DefaultB     = 6.0
	DefaultP     = 6.25
	DefaultQ     = 3.74
	DefaultGamma = 15.44
)

// DefaultStart is the default first day of the window.
var DefaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type channel struct {
	name          string
	weight        float64
	rate, spend   float64 // multipliers of λ and of the amount
	cumulativeTop float64
}

var defaultChannels = []channel{
	{name: "paid_search", weight: 0.30, rate: 0.85, spend: 1.0},
	{name: "email", weight: 0.15, rate: 1.4, spend: 0.9},
	{name: "organic", weight: 0.30, rate: 1.1, spend: 1.0},
	{name: "social", weight: 0.15, rate: 0.7, spend: 0.85},
	{name: "referral", weight: 0.10, rate: 1.2, spend: 1.15},
}

var countries = []struct {
	name   string
	weight float64
}{{"US", 0.45}, {"GB", 0.15}, {"DE", 0.12}, {"FR", 0.10}, {"CA", 0.10}, {"PL", 0.08}}

func (cfg *Config) withDefaults() error {
	if cfg.Customers <= 0 {
		return errors.New("synth: Customers must be positive")
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	if cfg.Days < 2 {
		return errors.New("synth: Days must be at least 2")
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.R, DefaultR)
	def(&cfg.Alpha, DefaultAlpha)
	def(&cfg.A, DefaultA)
	def(&cfg.B, DefaultB)
	def(&cfg.P, DefaultP)
	def(&cfg.Q, DefaultQ)
	def(&cfg.Gamma, DefaultGamma)
	for _, v := range []float64{cfg.R, cfg.Alpha, cfg.A, cfg.B, cfg.P, cfg.Q, cfg.Gamma} {
		if !(v > 0) || math.IsInf(v, 0) {
			return errors.New("synth: model parameters must be positive and finite")
		}
	}
	return nil
}

type customer struct {
	lambda, p, nu, spend float64
	t                    float64 // time of the next purchase, days since Start
	repeat               bool    // the next purchase is a repeat purchase
	channel, country     uint8
}

// Write writes the transaction log as CSV and returns the number of data rows.
func Write(w io.Writer, cfg Config) (rows int, err error) {
	if err := cfg.withDefaults(); err != nil {
		return 0, err
	}
	chans := defaultChannels
	if len(cfg.Channels) > 0 {
		if len(cfg.Channels) > 256 {
			return 0, errors.New("synth: at most 256 channels")
		}
		chans = make([]channel, len(cfg.Channels))
		for i, n := range cfg.Channels {
			chans[i] = channel{name: n, weight: 1, rate: 1, spend: 1}
		}
	}
	var total float64
	for _, c := range chans {
		total += c.weight
	}
	cum := make([]float64, len(chans))
	acc := 0.0
	for i, c := range chans {
		acc += c.weight / total
		cum[i] = acc
	}
	ccum := make([]float64, len(countries))
	acc = 0
	for i, c := range countries {
		acc += c.weight
		ccum[i] = acc
	}
	pick := func(cum []float64, u float64) uint8 {
		for i, c := range cum {
			if u < c {
				return uint8(i)
			}
		}
		return uint8(len(cum) - 1)
	}

	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	days := cfg.Days
	acqDays := (days + 1) / 2
	custs := make([]customer, cfg.Customers)
	buckets := make([][]int32, days)
	for i := range custs {
		c := &custs[i]
		c.channel = pick(cum, rng.Float64())
		c.country = pick(ccum, rng.Float64())
		ch := chans[c.channel]
		c.lambda = gamma(rng, cfg.R) / cfg.Alpha * ch.rate
		x, y := gamma(rng, cfg.A), gamma(rng, cfg.B)
		c.p = x / (x + y)
		c.nu = gamma(rng, cfg.Q) / cfg.Gamma
		c.spend = ch.spend
		c.t = float64(rng.IntN(acqDays)) + rng.Float64()
		d := int(c.t)
		buckets[d] = append(buckets[d], int32(i))
	}

	idWidth := max(7, len(strconv.Itoa(cfg.Customers)))
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("customer_id,date,amount,channel,country\n")
	line := make([]byte, 0, 128)
	for d := 0; d < days; d++ {
		date := cfg.Start.AddDate(0, 0, d).Format(time.DateOnly)
		// the bucket may grow while we walk it (several purchases on one day)
		for k := 0; k < len(buckets[d]); k++ {
			i := buckets[d][k]
			c := &custs[i]
			amount := gamma(rng, cfg.P) / c.nu * c.spend
			amount = math.Round(amount*100) / 100
			if amount < 0.01 {
				amount = 0.01
			}
			line = append(line[:0], 'c')
			line = appendPadded(line, int(i)+1, idWidth)
			line = append(line, ',')
			line = append(line, date...)
			line = append(line, ',')
			line = strconv.AppendFloat(line, amount, 'f', 2, 64)
			line = append(line, ',')
			line = append(line, chans[c.channel].name...)
			line = append(line, ',')
			line = append(line, countries[c.country].name...)
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return rows, err
			}
			rows++
			if c.repeat && rng.Float64() < c.p {
				continue // dropped out after this purchase
			}
			c.repeat = true
			if c.lambda <= 0 {
				continue
			}
			c.t += rng.ExpFloat64() / c.lambda
			if c.t >= float64(days) {
				continue
			}
			nd := int(c.t)
			buckets[nd] = append(buckets[nd], i)
		}
		buckets[d] = nil
	}
	if err := bw.Flush(); err != nil {
		return rows, err
	}
	return rows, nil
}

func appendPadded(b []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for n := len(s); n < width; n++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// WriteGzipFile writes the transaction log gzip-compressed to path.
func WriteGzipFile(path string, cfg Config) (rows int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	zw := gzip.NewWriter(f)
	rows, err = Write(zw, cfg)
	if err != nil {
		return rows, err
	}
	if err := zw.Close(); err != nil {
		return rows, fmt.Errorf("synth: %w", err)
	}
	return rows, nil
}

// gamma draws from Gamma(shape, 1) (Marsaglia and Tsang 2000; shape < 1 by boosting).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v
		}
		if u > 0 && math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
