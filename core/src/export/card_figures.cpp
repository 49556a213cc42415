#include "export/card_figures.h"

#include <algorithm>
#include <cmath>
#include <locale>
#include <sstream>

namespace distillery::detail {

namespace {

// The stages' colours, as the window draws them (ui/stagestyle.h).
const char *stageColour(const std::string &stage)
{
    if (stage == "teacher")
        return "#7b1fa2";
    if (stage == "baseline")
        return "#ef6c00";
    return "#1565c0";
}

// An SVG document under construction; numbers always with a decimal point,
// whatever the program's locale.
class Svg {
public:
    Svg(double width, double height)
    {
        out_.imbue(std::locale::classic());
        out_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << n(width) << "\" height=\"" << n(height)
             << "\" viewBox=\"0 0 " << n(width) << ' ' << n(height) << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
             << "<rect class=\"background\" x=\"0\" y=\"0\" width=\"" << n(width) << "\" height=\"" << n(height)
             << "\" fill=\"#ffffff\"/>\n";
    }
    static std::string n(double v)
    {
        std::ostringstream s;
        s.imbue(std::locale::classic());
        s.setf(std::ios::fixed);
        s.precision(2);
        s << (std::abs(v) < 0.005 ? 0.0 : v);
        return s.str();
    }
    // All the digits a double needs, for data-value.
    static std::string exact(double v)
    {
        std::ostringstream s;
        s.imbue(std::locale::classic());
        s.precision(17);
        s << v;
        return s.str();
    }
    void line(double x1, double y1, double x2, double y2, const std::string &attributes)
    {
        out_ << "<line x1=\"" << n(x1) << "\" y1=\"" << n(y1) << "\" x2=\"" << n(x2) << "\" y2=\"" << n(y2) << "\" "
             << attributes << "/>\n";
    }
    void text(double x, double y, const std::string &s, const std::string &attributes = "")
    {
        out_ << "<text x=\"" << n(x) << "\" y=\"" << n(y) << "\"" << (attributes.empty() ? "" : " ") << attributes
             << '>' << xmlEscape(s) << "</text>\n";
    }
    // A bar standing on `base`, `height` high, showing `value`.
    void bar(const std::string &series, double x, double width, double base, double height, double value,
             const std::string &fill, const std::string &extra, const std::string &title)
    {
        out_ << "<rect class=\"bar " << series << "\" x=\"" << n(x) << "\" y=\"" << n(base - height) << "\" width=\""
             << n(width) << "\" height=\"" << n(height) << "\" fill=\"" << fill << "\" data-base=\"" << n(base)
             << "\" data-value=\"" << exact(value) << "\"" << extra << "><title>" << xmlEscape(title) << "</title></rect>\n";
    }
    void raw(const std::string &s) { out_ << s; }
    std::string finish()
    {
        out_ << "</svg>\n";
        return out_.str();
    }

private:
    std::ostringstream out_;
};

// At most `bytes` bytes of `s`, not cutting a UTF-8 character.
std::string utf8Prefix(const std::string &s, std::size_t bytes)
{
    if (s.size() <= bytes)
        return s;
    while (bytes > 0 && (static_cast<unsigned char>(s[bytes]) & 0xC0) == 0x80)
        --bytes;
    return s.substr(0, bytes);
}

std::string fixed(double v, int digits)
{
    if (!std::isfinite(v))
        return "-";
    std::ostringstream s;
    s.imbue(std::locale::classic());
    s.setf(std::ios::fixed);
    s.precision(digits);
    s << v;
    return s.str();
}

// The left axis from 0 to 1 with grid lines at every fifth, labelled by `label`.
template <class Label>
void unitAxis(Svg &svg, double left, double right, double base, Label label)
{
    for (int i = 0; i <= 5; ++i) {
        const double y = base - kCardPlotHeight * i / 5.0;
        svg.line(left, y, right, y, i == 0 ? "stroke=\"#444444\"" : "stroke=\"#e0e0e0\"");
        svg.text(left - 6, y + 4, label(i / 5.0), "text-anchor=\"end\"");
    }
    svg.line(left, base, left, base - kCardPlotHeight, "stroke=\"#444444\"");
}

// The count of each non-empty bin below the diagram, scaled to the largest.
void countPanel(Svg &svg, const std::vector<CalibrationBin> &bins, double left, double width, double top)
{
    std::int64_t most = 0;
    for (const auto &b : bins)
        most = std::max(most, b.count);
    const double base = top + kCardCountHeight;
    svg.line(left, base, left + width, base, "stroke=\"#444444\"");
    svg.text(left - 6, base - kCardCountHeight / 2 + 4, "count", "text-anchor=\"end\"");
    for (std::size_t i = 0; i < bins.size(); ++i) {
        const CalibrationBin &b = bins[i];
        if (b.count <= 0 || most <= 0)
            continue;
        const double x = left + b.lower * width + 1, w = (b.upper - b.lower) * width - 2;
        const double h = kCardCountHeight * double(b.count) / double(most);
        svg.bar("count", x, w, base, h, double(b.count), "#9e9e9e", " data-bin=\"" + std::to_string(i) + "\"",
                std::to_string(b.count) + " examples with confidence in (" + fixed(b.lower, 3) + ", " +
                    fixed(b.upper, 3) + "]");
        svg.text(x + w / 2, base - h - 2, std::to_string(b.count), "text-anchor=\"middle\" font-size=\"8\"");
    }
}

} // namespace

std::string xmlEscape(const std::string &text)
{
    std::string s;
    s.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': s += "&amp;"; break;
        case '<': s += "&lt;"; break;
        case '>': s += "&gt;"; break;
        case '"': s += "&quot;"; break;
        case '\'': s += "&apos;"; break;
        default:
            // Control characters are not allowed in XML 1.0 (tab, newline and return are).
            if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r')
                s += c;
        }
    }
    return s;
}

std::string reliabilitySvg(const StageAnalysis &a)
{
    const double left = 60, top = 70, width = 400, base = top + kCardPlotHeight;
    const double countTop = base + 44;
    Svg svg(left + width + 30, countTop + kCardCountHeight + 16);
    svg.text(left, 20, a.stage + ": reliability diagram on " + std::to_string(a.examples) + " test examples",
             "font-size=\"13\" font-weight=\"bold\"");
    svg.text(left, 38, "ECE " + fixed(a.calibration.ece, 4) + " over " + std::to_string(a.calibration.bins.size()) +
                           " equal-width confidence bins");
    svg.text(left, 53, "bars: each bin's accuracy; red: its mean confidence; dashed: perfect calibration");
    unitAxis(svg, left, left + width, base, [](double v) { return fixed(v, 1); });
    for (int i = 0; i <= 5; ++i)
        svg.text(left + width * i / 5.0, base + 14, fixed(i / 5.0, 1), "text-anchor=\"middle\"");
    svg.text(left + width / 2, base + 28, "confidence (largest softmax probability)", "text-anchor=\"middle\"");
    svg.text(16, top + kCardPlotHeight / 2, "accuracy",
             "text-anchor=\"middle\" transform=\"rotate(-90 16 " + Svg::n(top + kCardPlotHeight / 2) + ")\"");
    const std::string colour = stageColour(a.stage);
    for (std::size_t i = 0; i < a.calibration.bins.size(); ++i) {
        const CalibrationBin &b = a.calibration.bins[i];
        if (b.count <= 0 || !std::isfinite(b.accuracy))
            continue;
        const double x = left + b.lower * width + 1, w = (b.upper - b.lower) * width - 2;
        svg.bar("accuracy", x, w, base, b.accuracy * kCardPlotHeight, b.accuracy, colour,
                " fill-opacity=\"0.75\" data-bin=\"" + std::to_string(i) + "\"",
                "accuracy " + fixed(b.accuracy, 4) + ", mean confidence " + fixed(b.confidence, 4) + ", " +
                    std::to_string(b.count) + " examples");
        if (std::isfinite(b.confidence)) {
            const double y = base - b.confidence * kCardPlotHeight;
            svg.line(x, y, x + w, y, "class=\"confidence\" stroke=\"#c62828\" stroke-width=\"2\"");
        }
    }
    svg.line(left, base, left + width, base - kCardPlotHeight,
             "class=\"diagonal\" stroke=\"#424242\" stroke-dasharray=\"5 4\"");
    countPanel(svg, a.calibration.bins, left, width, countTop);
    return svg.finish();
}

std::string perClassSvg(const std::vector<const StageAnalysis *> &stages, const std::vector<std::string> &classNames)
{
    std::vector<const StageAnalysis *> shown;
    std::size_t classes = classNames.size();
    for (const StageAnalysis *s : stages)
        if (s) {
            shown.push_back(s);
            classes = std::max(classes, s->perClassAccuracy.size());
        }
    const bool few = classes <= 20;
    const double stagesShown = double(std::max<std::size_t>(shown.size(), 1));
    // Bars 12 units wide (5 for many classes), wider when few classes leave room.
    double bar = few ? 12 : 5, group = stagesShown * bar + (few ? 10 : 4);
    if (classes > 0 && group * double(classes) < 360) {
        group = 360 / double(classes);
        bar = std::clamp((group - 10) / stagesShown, 2.0, 40.0); // a bar's inner width is bar - 1
    }
    const double left = 60, top = 56, width = std::max(360.0, group * double(classes)), base = top + kCardPlotHeight;
    Svg svg(left + width + 20, base + (few ? 40 : 90));
    svg.text(left, 20, "Per-class test accuracy", "font-size=\"13\" font-weight=\"bold\"");
    double legend = left;
    for (const StageAnalysis *s : shown) {
        svg.raw("<rect class=\"legend\" x=\"" + Svg::n(legend) + "\" y=\"30\" width=\"10\" height=\"10\" fill=\"" +
                stageColour(s->stage) + "\"/>\n");
        svg.text(legend + 14, 39, s->stage);
        legend += 90;
    }
    unitAxis(svg, left, left + width, base, [](double v) { return fixed(100 * v, 0) + "%"; });
    for (std::size_t k = 0; k < classes; ++k) {
        const double x0 = left + group * (double(k) + 0.5) - bar * stagesShown / 2;
        for (std::size_t m = 0; m < shown.size(); ++m) {
            const StageAnalysis &s = *shown[m];
            const double v = k < s.perClassAccuracy.size() ? s.perClassAccuracy[k] : std::nan("");
            if (!std::isfinite(v))
                continue;
            svg.bar(s.stage, x0 + bar * double(m), bar - 1, base, v * kCardPlotHeight, v, stageColour(s.stage),
                    " data-class=\"" + std::to_string(k) + "\"",
                    s.stage + ", class " + std::to_string(k) + ": " + fixed(100 * v, 2) + "%");
        }
        std::string name = std::to_string(k);
        if (k < classNames.size() && !classNames[k].empty() && classNames[k] != name)
            name += few ? " " + utf8Prefix(classNames[k], 12) : "";
        const double cx = left + group * (double(k) + 0.5);
        if (few)
            svg.text(cx, base + 14, name, "text-anchor=\"middle\" font-size=\"9\"");
        else
            svg.text(cx, base + 8, name,
                     "text-anchor=\"end\" font-size=\"8\" transform=\"rotate(-60 " + Svg::n(cx) + ' ' +
                         Svg::n(base + 8) + ")\"");
    }
    return svg.finish();
}

} // namespace distillery::detail
