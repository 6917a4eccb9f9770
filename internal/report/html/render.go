package html

import (
	stdhtml "html"
	"strconv"
	"strings"
)

// The page is written without html/template: its structure is fixed, and every piece of data goes
// through esc (text and double-quoted attribute values) or is a number. Executing html/template
// would make the linker keep every exported method of the manager's types (text/template calls
// methods by name), about 15 MB more binary for one page.

func esc(s string) string { return stdhtml.EscapeString(s) }

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

type writer struct{ strings.Builder }

// w writes its arguments: literal markup and already escaped text.
func (b *writer) w(parts ...string) {
	for _, p := range parts {
		b.WriteString(p)
	}
}

func (v *view) render() []byte {
	var b writer
	b.w(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>`, esc(v.Title), "</title>\n<script>\n", checkJS, "</script>\n<style>\n", pageCSS, "</style>\n</head>\n<body>\n")
	b.w("<header>\n<h1>", esc(v.Title), "</h1>\n<p class=\"sub\">", esc(v.Subtitle), "</p>\n</header>\n<main>\n<section class=\"figures\">\n")
	for _, f := range v.Figures {
		b.w(`<div class="figure"><div class="label">`, esc(f.Label), `</div><div class="value">`, esc(f.Value), `</div><div class="detail">`, esc(f.Detail), "</div></div>\n")
	}
	b.w("</section>\n")
	for _, s := range v.Sections {
		b.w("<h2>", esc(s.Heading), "</h2>\n<div class=\"charts\">\n")
		for i := range s.Charts {
			b.chart(&s.Charts[i])
		}
		b.w("</div>\n")
	}
	if len(v.Notes) > 0 {
		b.w(`<div class="notes">`)
		for _, n := range v.Notes {
			b.w("<p>", esc(n), "</p>")
		}
		b.w("</div>\n")
	}
	b.w("</main>\n</body>\n</html>\n")
	return []byte(b.String())
}

func (b *writer) chart(c *Chart) {
	b.w(`<figure class="chart" id="`, esc(c.ID), `" data-points="`, strconv.Itoa(c.Points), "\">\n<h3>", esc(c.Title), "</h3>\n<figcaption>", esc(c.Note), "</figcaption>\n")
	b.w(`<svg viewBox="0 0 `, f1(c.Width), " ", f1(c.Height), `" role="img" aria-label="`, esc(c.Title), "\">\n")
	line := func(l Line) {
		b.w(`<line x1="`, f1(l.X1), `" y1="`, f1(l.Y1), `" x2="`, f1(l.X2), `" y2="`, f1(l.Y2), `" class="`, esc(l.Class), "\"/>\n")
	}
	for _, l := range c.Lines {
		line(l)
	}
	for _, r := range c.Rects {
		b.w(`<rect x="`, f1(r.X), `" y="`, f1(r.Y), `" width="`, f1(r.W), `" height="`, f1(r.H), `" class="`, esc(r.Class), `"><title>`, esc(r.Tip), "</title></rect>\n")
	}
	for _, l := range c.Over {
		line(l)
	}
	for _, p := range c.Polys {
		b.w(`<polyline points="`, esc(p.Points), `" class="`, esc(p.Class), `"><title>`, esc(p.Tip), "</title></polyline>\n")
	}
	for _, t := range c.Texts {
		b.w(`<text x="`, f1(t.X), `" y="`, f1(t.Y), `" text-anchor="`, esc(t.Anchor), `" class="`, esc(t.Class), `">`, esc(t.S), "</text>\n")
	}
	b.w("</svg>\n")
	if len(c.Legend) > 0 {
		b.w(`<div class="legend">`)
		for _, l := range c.Legend {
			b.w(`<span class="`, esc(l.Class), `">`, esc(l.Label), "</span>")
		}
		b.w("</div>\n")
	}
	b.w("</figure>\n")
}
