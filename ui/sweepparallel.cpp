#include "sweepparallel.h"

#include "plotlook.h"

#include <qcustomplot.h>

#include <QLabel>
#include <QMouseEvent>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

constexpr int kMaxOrdinalValues = 12; // more distinct values than this: a numeric axis
constexpr int kMaxLines = 3000;       // lines drawn at most (the first points)
constexpr double kAxisPick = 0.2;     // how near an axis (in axis spacings) a drag must start
constexpr double kEndSnap = 0.02;     // a drag this near an end of an axis reaches it

double numberOf(const QString &json)
{
    bool ok = false;
    const double v = json.toDouble(&ok);
    return ok ? v : NAN;
}

// Blue (low) to orange (high) by t in [0, 1].
QColor lineColor(double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromRgbF(0.13 + 0.77 * t, 0.40 + 0.10 * t, 0.67 - 0.55 * t, 0.75);
}

} // namespace

SweepParallel::SweepParallel(QWidget *parent) : QWidget(parent), plot_(new QCustomPlot(this)), note_(new QLabel(this))
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(plot_, 1);
    layout->addWidget(note_);
    plot_->xAxis->setVisible(false);
    plot_->yAxis->setVisible(false);
    plot_->axisRect()->setAutoMargins(QCP::msNone);
    plot_->axisRect()->setMargins(QMargins(40, 36, 40, 24));
    plot_->yAxis->setRange(-0.04, 1.04);
    plot_->setToolTip(tr("A line per finished point through its settings and its measure (the last axis). Drag "
                         "along an axis to keep the lines within that range; click an axis to clear its range."));
    plotlook::applyPalette(plot_, palette());
    plot_->installEventFilter(this);
}

void SweepParallel::buildAxes(const SweepPlan &plan, const std::vector<SweepPointResult> &results, SweepMeasure measure)
{
    axes_.clear();
    const std::size_t n = plan.points.size();
    for (const std::string &k : plan.keys) {
        Axis a;
        a.name = QString::fromStdString(k);
        a.values = sweepAxisValues(plan, a.name);
        const bool numeric = std::all_of(a.values.begin(), a.values.end(), [](const QString &v) { return std::isfinite(numberOf(v)); });
        const bool ordinal = !numeric || a.values.size() <= kMaxOrdinalValues;
        if (!ordinal) {
            a.lo = numberOf(a.values.first());
            a.hi = numberOf(a.values.last());
            a.logScale = a.lo > 0 && a.hi / a.lo > 20;
            a.values.clear();
        }
        a.at.assign(n, NAN);
        for (const SweepPoint &p : plan.points) {
            const QString v = sweepSetting(p, a.name);
            if (ordinal)
                a.at[std::size_t(p.index)] = a.values.size() < 2 ? 0.5 : double(a.values.indexOf(v)) / double(a.values.size() - 1);
            else if (a.logScale)
                a.at[std::size_t(p.index)] = std::log(numberOf(v) / a.lo) / std::log(a.hi / a.lo);
            else
                a.at[std::size_t(p.index)] = a.hi > a.lo ? (numberOf(v) - a.lo) / (a.hi - a.lo) : 0.5;
        }
        axes_.push_back(a);
    }
    Axis m;
    m.name = measure == SweepMeasure::StudentAccuracy ? tr("test accuracy (%)") : tr("gain over the baseline (points)");
    m.lo = INFINITY;
    m.hi = -INFINITY;
    for (const SweepPointResult &r : results)
        if (const double v = r.value(measure); std::isfinite(v)) {
            m.lo = std::min(m.lo, 100 * v);
            m.hi = std::max(m.hi, 100 * v);
        }
    m.at.assign(n, NAN);
    for (const SweepPointResult &r : results)
        if (const double v = r.value(measure); std::isfinite(v) && std::size_t(r.point) < n)
            m.at[std::size_t(r.point)] = m.hi > m.lo ? (100 * v - m.lo) / (m.hi - m.lo) : 0.5;
    axes_.push_back(m);
}

void SweepParallel::setData(const SweepPlan &plan, const std::vector<SweepPointResult> &results, SweepMeasure measure)
{
    // Brushes stay where the axes stay the same.
    std::vector<std::pair<QString, std::optional<std::pair<double, double>>>> kept;
    for (const Axis &a : axes_)
        kept.emplace_back(a.name, a.brush);
    buildAxes(plan, results, measure);
    for (std::size_t i = 0; i < axes_.size() && i < kept.size(); ++i)
        if (kept[i].first == axes_[i].name)
            axes_[i].brush = kept[i].second;
    points_.clear();
    for (const SweepPointResult &r : results)
        if (std::isfinite(axes_.back().at[std::size_t(r.point)]) && int(points_.size()) < kMaxLines)
            points_.push_back(r.point);
    redraw();
}

double SweepParallel::position(int point, int axis) const
{
    return axes_[std::size_t(axis)].at[std::size_t(point)];
}

bool SweepParallel::inside(int point) const
{
    for (const Axis &a : axes_)
        if (a.brush) {
            const double v = a.at[std::size_t(point)];
            if (!(v >= a.brush->first - 1e-9 && v <= a.brush->second + 1e-9))
                return false;
        }
    return true;
}

std::vector<int> SweepParallel::drawnPoints() const
{
    return points_;
}

std::vector<int> SweepParallel::keptPoints() const
{
    std::vector<int> out;
    for (int p : points_)
        if (inside(p))
            out.push_back(p);
    return out;
}

void SweepParallel::setBrush(int axis, double from, double to)
{
    axes_[std::size_t(axis)].brush = std::pair{std::min(from, to), std::max(from, to)};
    redraw();
    Q_EMIT brushChanged();
}

void SweepParallel::clearBrush(int axis)
{
    axes_[std::size_t(axis)].brush.reset();
    redraw();
    Q_EMIT brushChanged();
}

void SweepParallel::redraw()
{
    plot_->clearPlottables();
    plot_->clearItems();
    lines_.clear();
    const int k = int(axes_.size());
    plot_->xAxis->setRange(-0.1, std::max(1, k - 1) + 0.1);
    const QVector<double> xs = [k] { QVector<double> v; for (int i = 0; i < k; ++i) v << i; return v; }();
    std::vector<int> order = points_; // the kept lines drawn last, over the others
    std::stable_partition(order.begin(), order.end(), [this](int p) { return !inside(p); });
    for (int p : order) {
        auto *line = new QCPCurve(plot_->xAxis, plot_->yAxis);
        QVector<double> ys;
        for (const Axis &a : axes_)
            ys << (std::isfinite(a.at[std::size_t(p)]) ? a.at[std::size_t(p)] : qQNaN());
        line->setData(xs, xs, ys, true);
        line->setPen(inside(p) ? QPen(lineColor(ys.last()), 1.5) : QPen(QColor(150, 150, 150, 50), 1));
        line->setSelectable(QCP::stNone);
        lines_.push_back(line);
    }
    drawAxisLabels();
    int kept = 0;
    for (int p : points_)
        kept += inside(p);
    note_->setText(tr("%1 of %2 finished points within the ranges dragged on the axes").arg(kept).arg(points_.size()));
    plot_->replot();
}

void SweepParallel::drawAxisLabels()
{
    const QColor ink = palette().color(QPalette::WindowText);
    const auto text = [&](double x, double y, const QString &s, Qt::Alignment align, bool bold = false) {
        auto *t = new QCPItemText(plot_);
        t->position->setCoords(x, y);
        t->setPositionAlignment(align);
        t->setText(s);
        t->setColor(ink);
        t->setClipToAxisRect(false);
        QFont f = plot_->font();
        f.setBold(bold);
        t->setFont(f);
    };
    for (int i = 0; i < int(axes_.size()); ++i) {
        const Axis &a = axes_[std::size_t(i)];
        auto *line = new QCPItemLine(plot_);
        line->start->setCoords(i, 0);
        line->end->setCoords(i, 1);
        line->setPen(QPen(ink, 1));
        text(i, 1.03, a.name.section(QLatin1Char('.'), -1), Qt::AlignHCenter | Qt::AlignBottom, true);
        if (!a.values.isEmpty()) {
            for (int v = 0; v < a.values.size(); ++v)
                text(i, a.values.size() < 2 ? 0.5 : double(v) / (a.values.size() - 1), QStringLiteral(" ") + sweepValueText(a.values[v]),
                     Qt::AlignLeft | Qt::AlignVCenter);
        } else if (std::isfinite(a.lo)) {
            text(i, 0, QStringLiteral(" ") + QString::number(a.lo, 'g', 3), Qt::AlignLeft | Qt::AlignVCenter);
            text(i, 1, QStringLiteral(" ") + QString::number(a.hi, 'g', 3), Qt::AlignLeft | Qt::AlignVCenter);
        }
        if (a.brush) {
            auto *r = new QCPItemRect(plot_);
            r->topLeft->setCoords(i - 0.04, a.brush->second);
            r->bottomRight->setCoords(i + 0.04, a.brush->first);
            r->setPen(QPen(QColor(255, 160, 0), 2));
            r->setBrush(QColor(255, 160, 0, 60));
        }
    }
}

int SweepParallel::axisAt(double x) const
{
    const int i = int(std::lround(x));
    return i >= 0 && i < int(axes_.size()) && std::fabs(x - i) < kAxisPick ? i : -1;
}

QPointF SweepParallel::pixelOf(int axis, double position) const
{
    return {plot_->xAxis->coordToPixel(axis), plot_->yAxis->coordToPixel(position)};
}

bool SweepParallel::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != plot_)
        return QWidget::eventFilter(watched, event);
    const auto type = event->type();
    if (type != QEvent::MouseButtonPress && type != QEvent::MouseButtonRelease)
        return QWidget::eventFilter(watched, event);
    auto *e = static_cast<QMouseEvent *>(event);
    const double x = plot_->xAxis->pixelToCoord(e->position().x());
    double y = std::clamp(plot_->yAxis->pixelToCoord(e->position().y()), 0.0, 1.0);
    if (y < kEndSnap || y > 1 - kEndSnap) // a drag to an end of the axis takes its last value in
        y = std::round(y);
    if (type == QEvent::MouseButtonPress && e->button() == Qt::LeftButton) {
        dragAxis_ = axisAt(x);
        dragFrom_ = y;
        return dragAxis_ >= 0;
    }
    if (type == QEvent::MouseButtonRelease && dragAxis_ >= 0) {
        const int axis = dragAxis_;
        dragAxis_ = -1;
        if (std::fabs(y - dragFrom_) < 0.02)
            clearBrush(axis); // a click
        else
            setBrush(axis, dragFrom_, y);
        return true;
    }
    return QWidget::eventFilter(watched, event);
}
