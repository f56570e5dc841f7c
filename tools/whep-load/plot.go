package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"sort"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

type series struct {
	name string
	col  color.RGBA
	x, y []float64
}

type panel struct {
	title  string
	xlabel string
	series []series
}

var (
	colBlue   = color.RGBA{31, 119, 180, 255}
	colOrange = color.RGBA{255, 127, 14, 255}
	colGreen  = color.RGBA{44, 160, 44, 255}
	colRed    = color.RGBA{214, 39, 40, 255}
	colGrid   = color.RGBA{225, 225, 225, 255}
	colAxis   = color.RGBA{80, 80, 80, 255}
)

// writePlot draws the run as stacked line charts (time on x) plus the join-time distribution.
func writePlot(path string, r *report) error {
	var t, conn, sess, scpu, tcpu, rss, rx, tx []float64
	var sessX, txX []float64
	for _, k := range r.Timeline {
		t = append(t, k.T)
		conn = append(conn, float64(k.ViewersConnected))
		scpu = append(scpu, k.ServerCPU)
		tcpu = append(tcpu, k.ToolCPU)
		rss = append(rss, k.ServerRSSMB)
		rx = append(rx, k.RxMbps)
		if k.ServerSessions >= 0 {
			sessX, sess = append(sessX, k.T), append(sess, k.ServerSessions)
		}
		if k.ServerTxMbps >= 0 {
			txX, tx = append(txX, k.T), append(tx, k.ServerTxMbps)
		}
	}
	var joins []float64
	for _, v := range r.Viewers {
		if v.JoinMs > 0 {
			joins = append(joins, v.JoinMs)
		}
	}
	sort.Float64s(joins)
	var jx []float64
	for i := range joins {
		jx = append(jx, 100*float64(i+1)/float64(len(joins)))
	}
	panels := []panel{
		{"viewers", "s", []series{{"connected (tool)", colBlue, t, conn}, {"sessions_active (server)", colOrange, sessX, sess}}},
		{"CPU % (100 = one core)", "s", []series{{"server", colRed, t, scpu}, {"load tool", colGreen, t, tcpu}}},
		{"server RSS (MB)", "s", []series{{"RSS", colBlue, t, rss}}},
		{"throughput (Mbit/s)", "s", []series{{"received (tool)", colBlue, t, rx}, {"sent (server bytes_sent_total)", colOrange, txX, tx}}},
		{"join time, POST -> first keyframe (ms) by percentile of viewers", "%", []series{{"join ms", colRed, jx, joins}}},
	}
	const W, PH = 1000, 230
	img := image.NewRGBA(image.Rect(0, 0, W, PH*len(panels)))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.White}, image.Point{}, draw.Src)
	for i, p := range panels {
		drawPanel(img, image.Rect(0, i*PH, W, (i+1)*PH), p)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

func drawPanel(img *image.RGBA, area image.Rectangle, p panel) {
	plot := image.Rect(area.Min.X+70, area.Min.Y+24, area.Max.X-20, area.Max.Y-30)
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), 0.0, math.Inf(-1)
	for _, s := range p.series {
		for i := range s.x {
			xmin, xmax = math.Min(xmin, s.x[i]), math.Max(xmax, s.x[i])
			ymin, ymax = math.Min(ymin, s.y[i]), math.Max(ymax, s.y[i])
		}
	}
	label(img, area.Min.X+70, area.Min.Y+15, p.title, color.Black)
	lx := area.Min.X + 70 + 8*len(p.title) + 20
	for _, s := range p.series {
		fillRect(img, image.Rect(lx, area.Min.Y+7, lx+14, area.Min.Y+15), s.col)
		label(img, lx+18, area.Min.Y+15, s.name, colAxis)
		lx += 18 + 7*len(s.name) + 20
	}
	if math.IsInf(xmin, 1) {
		label(img, plot.Min.X+10, plot.Min.Y+40, "no data", colAxis)
		return
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	ymax = niceCeil(ymax)
	if ymax <= ymin {
		ymax = ymin + 1
	}
	// grid and axis labels
	for i := 0; i <= 4; i++ {
		y := plot.Max.Y - i*plot.Dy()/4
		hline(img, plot.Min.X, plot.Max.X, y, colGrid)
		label(img, area.Min.X+4, y+4, fmt.Sprintf("%8.4g", ymin+(ymax-ymin)*float64(i)/4), colAxis)
	}
	for i := 0; i <= 5; i++ {
		x := plot.Min.X + i*plot.Dx()/5
		vline(img, x, plot.Min.Y, plot.Max.Y, colGrid)
		label(img, x-12, plot.Max.Y+16, fmt.Sprintf("%.0f%s", xmin+(xmax-xmin)*float64(i)/5, p.xlabel), colAxis)
	}
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, colAxis)
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, colAxis)
	px := func(x float64) int { return plot.Min.X + int((x-xmin)/(xmax-xmin)*float64(plot.Dx())) }
	py := func(y float64) int { return plot.Max.Y - int((y-ymin)/(ymax-ymin)*float64(plot.Dy())) }
	for _, s := range p.series {
		for i := range s.x {
			if i == 0 {
				fillRect(img, image.Rect(px(s.x[0])-1, py(s.y[0])-1, px(s.x[0])+2, py(s.y[0])+2), s.col)
				continue
			}
			line(img, px(s.x[i-1]), py(s.y[i-1]), px(s.x[i]), py(s.y[i]), s.col)
		}
	}
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a 2-pixel-wide segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	err := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
