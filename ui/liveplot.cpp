#include "liveplot.h"

#include "plotbar.h"
#include "plotlook.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QMessageBox>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>

struct LivePlot::Series {
    QString name;
    QColor color;
    Qt::PenStyle style = Qt::SolidLine;
    bool overlay = false;
    int leader = -1;
    bool visible = true;
    QVector<double> step, epoch, y;
    int drawn = 0;          // points already handed to the graphs
    double ema = 0.0;       // last smoothed value
    double emaWeight = 0.0; // bias correction for the first points
    QCPGraph *raw = nullptr;
    QCPGraph *smooth = nullptr;
};


LivePlot::LivePlot(const QString &title, const QString &yLabel, QWidget *parent)
    : QWidget(parent), plot_(new QCustomPlot(this)), replotTimer_(new QTimer(this))
{
    auto *bar = new PlotBar(title, this);
    smoothSlider_ = bar->smoothSlider();
    logCheck_ = bar->logCheck();
    xCombo_ = bar->xCombo();
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->setSpacing(2);
    layout->addWidget(bar);
    layout->addWidget(plot_, 1);

    plot_->xAxis->setLabel(tr("step"));
    plot_->yAxis->setLabel(yLabel);
    // The legend in a row of its own above the data area: it never covers a
    // curve, whatever the data and the plot's size. Its columns follow the width.
    plotlook::placeLegendAbove(plot_);
    plot_->legend->setVisible(true);
    plot_->legend->setSelectableParts(QCPLegend::spItems);
    hint_ = new QCPItemText(plot_);
    hint_->position->setType(QCPItemPosition::ptAxisRectRatio);
    hint_->position->setCoords(0.5, 0.5);
    hint_->setVisible(false);
    followPalette();
    connect(plot_, &QCustomPlot::beforeReplot, this, &LivePlot::layoutLegend);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setNoAntialiasingOnDrag(true);
    plot_->setMinimumHeight(140);

    replotTimer_->setSingleShot(true);
    replotTimer_->setInterval(100);
    connect(replotTimer_, &QTimer::timeout, this, &LivePlot::flush);
    // Slow replots (many points, a large plot, a slow machine) space out; at
    // most one a second while points keep coming. Set after each replot,
    // whatever asked for it, from the average that includes it.
    connect(plot_, &QCustomPlot::afterReplot, this, [this] {
        ++replots_;
        replotTimer_->setInterval(
            std::clamp(int(std::ceil(averageReplotMs() * kReplotBudget)), minInterval_, std::max(minInterval_, 1000)));
        Q_EMIT replotted();
    });

    connect(bar, &PlotBar::fitRequested, this, &LivePlot::resetView);
    connect(bar, &PlotBar::exportRequested, this, [this, title] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), title + QStringLiteral(".png"),
                                                          tr("PNG image (*.png);;PDF document (*.pdf)"));
        QString error;
        if (!path.isEmpty() && !exportTo(path, &error))
            QMessageBox::warning(this, tr("Export plot"), error);
    });
    connect(smoothSlider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
    connect(logCheck_, &QCheckBox::toggled, this, &LivePlot::setLogY);
    connect(xCombo_, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this](int i) { setXAxis(i == 0 ? XAxis::Step : XAxis::Epoch); });
    // A click on a legend entry shows or hides its series.
    connect(plot_, &QCustomPlot::legendClick, this, [this](QCPLegend *, QCPAbstractLegendItem *item, QMouseEvent *) {
        auto *entry = qobject_cast<QCPPlottableLegendItem *>(item);
        if (!entry)
            return;
        for (std::size_t i = 0; i < series_.size(); ++i)
            if (series_[i] && series_[i]->smooth == entry->plottable())
                setSeriesVisible(int(i), !series_[i]->visible);
    });
    // Once the user zooms or pans, new data no longer move the view.
    connect(plot_, &QCustomPlot::mousePress, this, [this] { followData_ = false; });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this] { followData_ = false; });
}

LivePlot::~LivePlot() = default;

int LivePlot::addSeries(const QString &name, const QColor &color, Qt::PenStyle style, bool overlay, int leader)
{
    auto s = std::make_unique<Series>();
    s->name = name;
    s->color = color;
    s->style = style;
    s->overlay = overlay;
    s->leader = leader;
    s->raw = plot_->addGraph();
    s->raw->removeFromLegend();
    s->smooth = plot_->addGraph();
    s->smooth->setName(name);
    if (leader >= 0) {
        s->smooth->removeFromLegend();
        s->visible = series_.at(std::size_t(leader))->visible;
    }
    applyVisibility(*s);
    series_.push_back(std::move(s));
    scheduleReplot();
    return int(series_.size()) - 1;
}

void LivePlot::addPoint(int series, double step, double epoch, double y)
{
    Series &s = *series_.at(std::size_t(series));
    s.step.append(step);
    s.epoch.append(epoch);
    s.y.append(y);
    scheduleReplot();
}

void LivePlot::addPoints(int series, const QVector<double> &step, const QVector<double> &epoch, const QVector<double> &y)
{
    Series &s = *series_.at(std::size_t(series));
    s.step += step;
    s.epoch += epoch;
    s.y += y;
    scheduleReplot();
}

void LivePlot::setEmptyHint(const QString &text)
{
    hint_->setText(text);
    scheduleReplot();
}

void LivePlot::setReferenceLine(const QString &label, double y)
{
    if (!refLine_) {
        refLine_ = new QCPItemStraightLine(plot_);
        refLine_->setPen(QPen(palette().color(QPalette::Text), 1, Qt::DashDotLine));
        // Named in the legend, not by a text over the curves: a graph without
        // points stands for it there.
        refKey_ = plot_->addGraph();
        refKey_->setPen(refLine_->pen());
    }
    refLine_->point1->setCoords(0, y);
    refLine_->point2->setCoords(1, y);
    refKey_->setName(label);
    refY_ = y;
    scheduleReplot();
}

void LivePlot::removeOverlays()
{
    // Removed series leave an empty place, so that the ids of the others (the
    // run in progress) stay valid.
    for (auto &s : series_)
        if (s && s->overlay) {
            plot_->removeGraph(s->raw);
            plot_->removeGraph(s->smooth);
            s.reset();
        }
    while (!series_.empty() && !series_.back())
        series_.pop_back();
    scheduleReplot();
}

void LivePlot::showOwnSeries(bool shown)
{
    ownShown_ = shown;
    for (auto &s : series_)
        if (s && !s->overlay) {
            if (shown && s->leader < 0)
                s->smooth->addToLegend();
            else
                s->smooth->removeFromLegend();
            applyVisibility(*s);
        }
    if (refLine_) {
        refLine_->setVisible(shown);
        shown ? refKey_->addToLegend() : refKey_->removeFromLegend();
    }
    scheduleReplot();
}

int LivePlot::seriesCount() const
{
    return int(std::count_if(series_.begin(), series_.end(), [](const auto &s) { return bool(s); }));
}

int LivePlot::seriesWithPointsCount() const
{
    return int(std::count_if(series_.begin(), series_.end(), [](const auto &s) { return s && !s->y.isEmpty(); }));
}

void LivePlot::clear()
{
    plot_->clearGraphs();
    series_.clear();
    ownShown_ = true;
    if (refLine_) {
        plot_->removeItem(refLine_);
        refLine_ = nullptr;
        refKey_ = nullptr; // removed with the graphs
    }
    followData_ = true;
    autoScale_ = true;
    applyLogY(false);
    scheduleReplot();
}

void LivePlot::setXAxis(XAxis axis)
{
    if (axis == xAxis_)
        return;
    xAxis_ = axis;
    const QSignalBlocker block(xCombo_);
    xCombo_->setCurrentIndex(axis == XAxis::Step ? 0 : 1);
    plot_->xAxis->setLabel(axis == XAxis::Step ? tr("step") : tr("epoch"));
    for (auto &s : series_)
        if (s)
            rebuild(*s);
    followData_ = true;
    scheduleReplot();
    Q_EMIT xAxisChanged();
}

void LivePlot::setSmoothing(double weight)
{
    weight = std::clamp(weight, 0.0, 0.99);
    if (weight == smoothing_)
        return;
    smoothing_ = weight;
    const QSignalBlocker block(smoothSlider_);
    smoothSlider_->setValue(int(std::lround(weight * 100)));
    for (auto &s : series_)
        if (s) {
            rebuild(*s);
            applyVisibility(*s);
        }
    scheduleReplot();
}

void LivePlot::setLogY(bool on)
{
    autoScale_ = false;
    applyLogY(on);
}

bool LivePlot::isLogY() const
{
    return plot_->yAxis->scaleType() == QCPAxis::stLogarithmic;
}

void LivePlot::applyLogY(bool on)
{
    if (on == isLogY())
        return;
    const QSignalBlocker block(logCheck_);
    logCheck_->setChecked(on);
    if (on) {
        plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    } else {
        plot_->yAxis->setScaleType(QCPAxis::stLinear);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    followData_ = true;
    scheduleReplot();
}

void LivePlot::setSeriesVisible(int series, bool visible)
{
    for (std::size_t i = 0; i < series_.size(); ++i)
        if (series_[i] && (int(i) == series || series_[i]->leader == series)) {
            series_[i]->visible = visible;
            applyVisibility(*series_[i]);
        }
    scheduleReplot();
}

bool LivePlot::isSeriesVisible(int series) const
{
    return series_.at(std::size_t(series))->visible;
}

void LivePlot::applyVisibility(Series &s)
{
    QColor faint = plotlook::onBackground(s.color, palette());
    faint.setAlpha(60);
    s.raw->setPen(QPen(faint, 1, s.style));
    s.smooth->setPen(QPen(plotlook::onBackground(s.color, palette()), 1, s.style));
    const bool shown = s.visible && (s.overlay || ownShown_);
    s.smooth->setVisible(shown);
    // Faint raw points only when smoothing hides them behind the average.
    s.raw->setVisible(shown && smoothing_ > 0);
    // A hidden series stays in the legend, greyed, so it can be clicked back on.
    if (auto *item = plot_->legend->itemWithPlottable(s.smooth))
        item->setTextColor(s.visible ? palette().color(QPalette::Text) : palette().color(QPalette::PlaceholderText));
}

void LivePlot::resetView()
{
    followData_ = true;
    for (auto &s : series_)
        if (s)
            appendPending(*s); // fitted to all the points given so far
    fitToData();
    plot_->replot();
}

void LivePlot::fitToData()
{
    if (autoScale_)
        chooseScale();
    plot_->rescaleAxes(true);
    if (refLine_) {
        // The reference (the teacher's test accuracy) is part of the picture.
        const QCPRange y = plot_->yAxis->range();
        plot_->yAxis->setRange(std::min(y.lower, refY_), std::max(y.upper, refY_));
    }
    // A margin above and below, so points at the extremes (the dots of a
    // curve's first value among them) are not cut by the frame.
    plot_->yAxis->scaleRange(1.1, plot_->yAxis->range().center());
    // Steps and epochs start at 0: a lone point's range, widened around it,
    // does not run into negative ones.
    const QCPRange x = plot_->xAxis->range();
    if (x.lower >= 0)
        return;
    for (int i = 0; i < plot_->graphCount(); ++i) {
        bool found = false;
        if (plot_->graph(i)->getKeyRange(found).lower < 0 && found)
            return;
    }
    plot_->xAxis->setRange(0, x.size());
}

bool LivePlot::exportTo(const QString &path, QString *error)
{
    flush();
    const bool pdf = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
    const bool ok = pdf ? plot_->savePdf(path) : plot_->savePng(path, 0, 0, 2.0);
    if (!ok && error)
        *error = tr("Could not write %1").arg(path);
    return ok;
}

int LivePlot::pointCount(int series) const
{
    const auto &s = series_.at(std::size_t(series));
    return s ? int(s->y.size()) : 0;
}

bool LivePlot::isUpToDate() const
{
    return std::all_of(series_.begin(), series_.end(), [](const auto &s) { return !s || s->drawn == int(s->y.size()); });
}

void LivePlot::setReplotInterval(int ms)
{
    minInterval_ = std::max(0, ms);
    replotTimer_->setInterval(minInterval_);
}

int LivePlot::replotInterval() const
{
    return replotTimer_->interval();
}

double LivePlot::averageReplotMs() const
{
    return plot_->replotTime(/*average=*/true);
}

void LivePlot::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    // Drawn at the screen's resolution (a high-DPI screen, or another screen
    // than the one the window opened on).
    if (plot_->bufferDevicePixelRatio() != devicePixelRatioF())
        plot_->setBufferDevicePixelRatio(devicePixelRatioF());
    scheduleReplot(); // points that arrived while hidden were not drawn
}

void LivePlot::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        followPalette();
        scheduleReplot();
    }
}

void LivePlot::scheduleReplot()
{
    if (!replotTimer_->isActive())
        replotTimer_->start();
}

void LivePlot::rebuild(Series &s)
{
    s.raw->data()->clear();
    s.smooth->data()->clear();
    s.drawn = 0;
    s.ema = 0;
    s.emaWeight = 0;
    appendPending(s);
}

void LivePlot::appendPending(Series &s)
{
    const int n = int(s.y.size());
    if (s.drawn >= n)
        return;
    const QVector<double> &xs = xAxis_ == XAxis::Step ? s.step : s.epoch;
    QVector<double> keys, raw, smooth;
    keys.reserve(n - s.drawn);
    raw.reserve(n - s.drawn);
    smooth.reserve(n - s.drawn);
    for (int i = s.drawn; i < n; ++i) {
        const double y = s.y[i];
        keys.append(xs[i]);
        raw.append(y);
        if (std::isfinite(y)) {
            // Bias-corrected EMA, so the first points are not pulled towards 0.
            s.ema = smoothing_ * s.ema + (1 - smoothing_) * y;
            s.emaWeight = smoothing_ * s.emaWeight + (1 - smoothing_);
        }
        smooth.append(s.emaWeight > 0 ? s.ema / s.emaWeight : y);
    }
    s.raw->addData(keys, raw, /*alreadySorted=*/true);
    s.smooth->addData(keys, smooth, /*alreadySorted=*/true);
    s.drawn = n;
    // A line needs two points: a lone first point is drawn as a dot, so that a
    // curve shows from its first value (the first epoch's accuracy, say).
    s.smooth->setScatterStyle(n == 1 ? QCPScatterStyle(QCPScatterStyle::ssDisc, 6) : QCPScatterStyle());
}

void LivePlot::flush()
{
    for (auto &s : series_)
        if (s)
            appendPending(*s);
    plot_->legend->setVisible(seriesCount() > 0);
    hint_->setVisible(seriesCount() > 0 && seriesWithPointsCount() == 0);
    if (!isVisible() && replots_ > 0)
        return; // drawn when shown again
    if (followData_)
        fitToData();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LivePlot::chooseScale()
{
    // The learning rates of a teacher and its students, decayed to nearly
    // zero, or a loss falling from 2 to 0.01: on a linear axis all but the
    // largest values lie flat along the bottom.
    applyLogY(plotlook::positiveDecades(plot_) > 2.0);
}

void LivePlot::layoutLegend()
{
    plotlook::wrapLegend(plot_->legend, plot_->viewport().width());
}

void LivePlot::followPalette()
{
    plotlook::applyPalette(plot_, palette());
    hint_->setColor(palette().color(QPalette::PlaceholderText));
    if (refLine_) {
        refLine_->setPen(QPen(palette().color(QPalette::Text), 1, Qt::DashDotLine));
        refKey_->setPen(refLine_->pen());
    }
    for (auto &s : series_)
        if (s)
            applyVisibility(*s);
}
