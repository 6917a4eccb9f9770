package html

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Chart is one SVG chart, laid out in Go: the renderer (render.go) only draws the shapes. Every shape that
// carries a data point has the class "datum" (Points of them), so tests and the page's own render
// check can tell a chart with data from an empty frame.
type Chart struct {
	ID, Title, Note string
	Width, Height   float64
	// Points is the number of data shapes.
	Points int
	Rects  []Rect
	Lines  []Line
	// Over are lines drawn over the data (reference lines, interval whiskers).
	Over   []Line
	Texts  []Text
	Polys  []Poly
	Legend []LegendItem
}

// Rect is a bar; Tip is its tooltip.
type Rect struct {
	X, Y, W, H float64
	Class, Tip string
}

// Line is an axis, a grid line, an interval whisker or a reference line.
type Line struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

// Text is a label.
type Text struct {
	X, Y   float64
	Anchor string // start, middle, end
	Class  string
	S      string
}

// Poly is a line series (cohort curves).
type Poly struct {
	Points string
	Class  string
	Tip    string
}

// LegendItem names a series by its class.
type LegendItem struct {
	Class, Label string
}

// linear maps [lo, hi] to [a, b].
type linear struct{ lo, hi, a, b float64 }

func (s linear) at(v float64) float64 {
	if s.hi == s.lo {
		return s.a
	}
	return s.a + (v-s.lo)/(s.hi-s.lo)*(s.b-s.a)
}

// niceTicks returns round tick values covering [lo, hi] (lo <= 0 <= hi is not required) with
// about n intervals: steps of 1, 2 or 5 times a power of ten.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		if hi == 0 {
			hi = 1
		} else {
			lo, hi = math.Min(0, lo), math.Max(0, hi)
		}
	}
	raw := (hi - lo) / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * p
	for _, m := range []float64{1, 2, 5} {
		if m*p >= raw {
			step = m * p
			break
		}
	}
	dec := max(0, int(-math.Floor(math.Log10(step))))
	var out []float64
	for i := math.Floor(lo / step); i*step < hi+step*0.999; i++ {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(i*step, 'f', dec, 64), 64) // 0.6, not 0.6000000000000001
		out = append(out, v)
	}
	return out
}

// tickLabel prints a tick value with no more decimals than its step needs.
func tickLabel(v, step float64) string {
	dec := 0
	if step > 0 && step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Trim(s, "-0.") == "" {
		s = "0"
	}
	return s
}

// Bar is one row of a horizontal bar chart.
type Bar struct {
	Label string
	Value float64
	// Low and High are an interval around Value (both set or neither).
	Low, High *float64
	// Text is printed at the bar's end; Tip is its tooltip.
	Text, Tip string
}

const (
	labelWidth = 150.0
	rowHeight  = 26.0
	top        = 10.0
	axisHeight = 26.0
)

// HBars lays out a horizontal bar chart, with interval whiskers when a bar has them and a dashed
// reference line at ref (LTV:CAC 3) when ref is not nil.
func HBars(id, title, note string, bars []Bar, ref *float64, refLabel string, width float64) Chart {
	c := Chart{ID: id, Title: title, Note: note, Width: width, Points: len(bars)}
	c.Height = top + rowHeight*float64(len(bars)) + axisHeight
	lo, hi := 0.0, 0.0
	for _, b := range bars {
		lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
		if b.Low != nil && b.High != nil {
			lo, hi = math.Min(lo, *b.Low), math.Max(hi, *b.High)
		}
	}
	if ref != nil {
		lo, hi = math.Min(lo, *ref), math.Max(hi, *ref)
	}
	ticks := niceTicks(lo, hi, 5)
	x := linear{ticks[0], ticks[len(ticks)-1], labelWidth, width - 70}
	bottom := top + rowHeight*float64(len(bars))
	step := 0.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	for _, t := range ticks {
		c.Lines = append(c.Lines, Line{x.at(t), top, x.at(t), bottom, "grid"})
		c.Texts = append(c.Texts, Text{x.at(t), bottom + 16, "middle", "tick", tickLabel(t, step)})
	}
	zero := x.at(0)
	for i, b := range bars {
		y := top + rowHeight*float64(i)
		x0, x1 := zero, x.at(b.Value)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		c.Rects = append(c.Rects, Rect{x0, y + 4, x1 - x0, rowHeight - 8, "datum bar", b.Tip})
		c.Texts = append(c.Texts, Text{labelWidth - 8, y + rowHeight/2 + 4, "end", "label", truncate(b.Label, 22)})
		end := x.at(b.Value)
		if b.Low != nil && b.High != nil {
			l, h := x.at(*b.Low), x.at(*b.High)
			mid := y + rowHeight/2
			c.Over = append(c.Over, Line{l, mid, h, mid, "interval"}, Line{l, mid - 6, l, mid + 6, "interval"}, Line{h, mid - 6, h, mid + 6, "interval"})
			end = math.Max(end, h)
		}
		c.Texts = append(c.Texts, Text{end + 6, y + rowHeight/2 + 4, "start", "value", b.Text})
	}
	c.Lines = append(c.Lines, Line{zero, top, zero, bottom, "axis"})
	if ref != nil {
		rx := x.at(*ref)
		c.Over = append(c.Over, Line{rx, top - 4, rx, bottom, "reference"})
		c.Texts = append(c.Texts, Text{rx + 4, top + 6, "start", "reference-label", refLabel})
	}
	return c
}

// Series is one series of a column chart: a value per category.
type Series struct {
	Label, Class string
	Values       []float64
	// Tips are the tooltips per category.
	Tips []string
}

// Columns lays out a vertical bar chart: one group of columns per category, one column per series.
func Columns(id, title, note string, categories []string, series []Series, xTitle string, width, height float64) Chart {
	c := Chart{ID: id, Title: title, Note: note, Width: width, Height: height}
	const left, right, bottomPad = 56.0, 12.0, 44.0
	plotBottom := height - bottomPad
	lo, hi := 0.0, 0.0
	for _, s := range series {
		for _, v := range s.Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	ticks := niceTicks(lo, hi, 4)
	y := linear{ticks[0], ticks[len(ticks)-1], plotBottom, top}
	step := 0.0
	if len(ticks) > 1 {
		step = ticks[1] - ticks[0]
	}
	for _, t := range ticks {
		c.Lines = append(c.Lines, Line{left, y.at(t), width - right, y.at(t), "grid"})
		c.Texts = append(c.Texts, Text{left - 6, y.at(t) + 4, "end", "tick", tickLabel(t, step)})
	}
	n := len(categories)
	if n == 0 {
		return c
	}
	band := (width - left - right) / float64(n)
	colW := band * 0.8 / float64(max(len(series), 1))
	for i, cat := range categories {
		bx := left + band*float64(i) + band*0.1
		for j, s := range series {
			if i >= len(s.Values) {
				continue
			}
			v := s.Values[i]
			y0, y1 := y.at(0), y.at(v)
			if y1 > y0 {
				y0, y1 = y1, y0
			}
			tip := ""
			if i < len(s.Tips) {
				tip = s.Tips[i]
			}
			c.Rects = append(c.Rects, Rect{bx + colW*float64(j), y1, colW - 1, y0 - y1, "datum " + s.Class, tip})
			c.Points++
		}
		c.Texts = append(c.Texts, Text{left + band*(float64(i)+0.5), plotBottom + 16, "middle", "tick", cat})
	}
	c.Lines = append(c.Lines, Line{left, y.at(0), width - right, y.at(0), "axis"})
	if xTitle != "" {
		c.Texts = append(c.Texts, Text{left + (width-left-right)/2, height - 6, "middle", "axis-title", xTitle})
	}
	if len(series) > 1 {
		for _, s := range series {
			c.Legend = append(c.Legend, LegendItem{s.Class, s.Label})
		}
	}
	return c
}

// Curve is one line of a line chart (a cohort).
type Curve struct {
	Label string
	X, Y  []float64
}

// Lines lays out a line chart; each curve gets a class "series-N" (N modulo 8).
func Lines(id, title, note string, curves []Curve, xTitle string, width, height float64) Chart {
	c := Chart{ID: id, Title: title, Note: note, Width: width, Height: height}
	const left, right, bottomPad = 56.0, 12.0, 44.0
	plotBottom := height - bottomPad
	xlo, xhi, ylo, yhi := 0.0, 0.0, 0.0, 0.0
	for _, cv := range curves {
		for i := range cv.X {
			xhi, ylo, yhi = math.Max(xhi, cv.X[i]), math.Min(ylo, cv.Y[i]), math.Max(yhi, cv.Y[i])
		}
	}
	yt, xt := niceTicks(ylo, yhi, 4), niceTicks(xlo, xhi, 6)
	y := linear{yt[0], yt[len(yt)-1], plotBottom, top}
	x := linear{xt[0], xt[len(xt)-1], left, width - right}
	for i, t := range yt {
		step := 0.0
		if len(yt) > 1 {
			step = yt[1] - yt[0]
		}
		_ = i
		c.Lines = append(c.Lines, Line{left, y.at(t), width - right, y.at(t), "grid"})
		c.Texts = append(c.Texts, Text{left - 6, y.at(t) + 4, "end", "tick", tickLabel(t, step)})
	}
	for _, t := range xt {
		c.Texts = append(c.Texts, Text{x.at(t), plotBottom + 16, "middle", "tick", tickLabel(t, 1)})
	}
	for k, cv := range curves {
		var pts []string
		for i := range cv.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x.at(cv.X[i]), y.at(cv.Y[i])))
		}
		c.Polys = append(c.Polys, Poly{strings.Join(pts, " "), fmt.Sprintf("datum curve series-%d", k%8), cv.Label})
		c.Points++
	}
	if xTitle != "" {
		c.Texts = append(c.Texts, Text{left + (width-left-right)/2, height - 6, "middle", "axis-title", xTitle})
	}
	return c
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
