#include "liveplot.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QSlider>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

struct LivePlot::Series {
    QString name;
    QColor color;
    bool overlay = false;
    bool visible = true;
    QVector<double> step, epoch, y;
    int drawn = 0;          // points already handed to the graphs
    double ema = 0.0;       // last smoothed value
    double emaWeight = 0.0; // bias correction for the first points
    QCPGraph *raw = nullptr;
    QCPGraph *smooth = nullptr;
};

namespace {

// Follow the system palette (light or dark).
void followPalette(QCustomPlot *plot, const QPalette &pal)
{
    plot->setBackground(pal.color(QPalette::Base));
    for (QCPAxis *axis : {plot->xAxis, plot->yAxis}) {
        axis->setBasePen(QPen(pal.color(QPalette::Text)));
        axis->setTickPen(QPen(pal.color(QPalette::Text)));
        axis->setSubTickPen(QPen(pal.color(QPalette::Text)));
        axis->setTickLabelColor(pal.color(QPalette::Text));
        axis->setLabelColor(pal.color(QPalette::Text));
        axis->grid()->setPen(QPen(pal.color(QPalette::Mid), 0, Qt::DotLine));
    }
    plot->legend->setBrush(pal.color(QPalette::Base));
    plot->legend->setTextColor(pal.color(QPalette::Text));
    plot->legend->setBorderPen(QPen(pal.color(QPalette::Mid)));
}

} // namespace

LivePlot::LivePlot(const QString &title, const QString &yLabel, QWidget *parent)
    : QWidget(parent), plot_(new QCustomPlot(this)), smoothSlider_(new QSlider(Qt::Horizontal, this)),
      logCheck_(new QCheckBox(tr("Log y"), this)), xCombo_(new QComboBox(this)), replotTimer_(new QTimer(this))
{
    QHBoxLayout *bar = makeBar(title);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(plot_, 1);

    followPalette(plot_, palette());
    plot_->xAxis->setLabel(tr("step"));
    plot_->yAxis->setLabel(yLabel);
    plot_->legend->setVisible(true);
    plot_->legend->setSelectableParts(QCPLegend::spItems);
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
            if (series_[i]->smooth == entry->plottable())
                setSeriesVisible(int(i), !series_[i]->visible);
    });
    // Once the user zooms or pans, new data no longer move the view.
    connect(plot_, &QCustomPlot::mousePress, this, [this] { followData_ = false; });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this] { followData_ = false; });
}

QHBoxLayout *LivePlot::makeBar(const QString &title)
{
    auto *titleLabel = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), this);
    smoothSlider_->setRange(0, 99);
    smoothSlider_->setMaximumWidth(110);
    smoothSlider_->setToolTip(tr("Smoothing: exponential moving average of the points (raw points stay faint)"));
    xCombo_->addItem(tr("by step"));
    xCombo_->addItem(tr("by epoch"));
    xCombo_->setToolTip(tr("Horizontal axis: training steps or epochs of each stage"));
    auto *reset = new QToolButton(this);
    reset->setText(tr("Reset"));
    reset->setToolTip(tr("Show all the data again after zooming or panning"));
    auto *exportButton = new QToolButton(this);
    exportButton->setText(tr("Export…"));
    exportButton->setToolTip(tr("Save this plot as PNG or PDF"));

    auto *bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(titleLabel);
    bar->addStretch();
    bar->addWidget(new QLabel(tr("Smooth"), this));
    bar->addWidget(smoothSlider_);
    bar->addWidget(logCheck_);
    bar->addWidget(xCombo_);
    bar->addWidget(reset);
    bar->addWidget(exportButton);

    connect(reset, &QToolButton::clicked, this, &LivePlot::resetView);
    connect(exportButton, &QToolButton::clicked, this, [this, title] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), title + QStringLiteral(".png"),
                                                          tr("PNG image (*.png);;PDF document (*.pdf)"));
        QString error;
        if (!path.isEmpty() && !exportTo(path, &error))
            QMessageBox::warning(this, tr("Export plot"), error);
    });
    return bar;
}

LivePlot::~LivePlot() = default;

int LivePlot::addSeries(const QString &name, const QColor &color, Qt::PenStyle style, bool overlay)
{
    auto s = std::make_unique<Series>();
    s->name = name;
    s->color = color;
    s->overlay = overlay;
    s->raw = plot_->addGraph();
    QColor faint = color;
    faint.setAlpha(60);
    s->raw->setPen(QPen(faint, 1, style));
    s->raw->removeFromLegend();
    s->smooth = plot_->addGraph();
    s->smooth->setName(name);
    s->smooth->setPen(QPen(color, 1, style));
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

void LivePlot::setReferenceLine(const QString &label, double y)
{
    if (!refLine_) {
        refLine_ = new QCPItemStraightLine(plot_);
        refLine_->setPen(QPen(palette().color(QPalette::Text), 1, Qt::DashLine));
        refLabel_ = new QCPItemText(plot_);
        refLabel_->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        refLabel_->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        refLabel_->setColor(palette().color(QPalette::Text));
    }
    refLine_->point1->setCoords(0, y);
    refLine_->point2->setCoords(1, y);
    refLabel_->position->setTypeY(QCPItemPosition::ptPlotCoords);
    refLabel_->position->setCoords(0.01, y);
    refLabel_->setText(label);
    scheduleReplot();
}

void LivePlot::removeOverlays()
{
    for (auto it = series_.begin(); it != series_.end();) {
        if ((*it)->overlay) {
            plot_->removeGraph((*it)->raw);
            plot_->removeGraph((*it)->smooth);
            it = series_.erase(it);
        } else {
            ++it;
        }
    }
    scheduleReplot();
}

void LivePlot::clear()
{
    plot_->clearGraphs();
    series_.clear();
    if (refLine_) {
        plot_->removeItem(refLine_);
        plot_->removeItem(refLabel_);
        refLine_ = nullptr;
        refLabel_ = nullptr;
    }
    followData_ = true;
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
        rebuild(*s);
    followData_ = true;
    scheduleReplot();
}

void LivePlot::setSmoothing(double weight)
{
    weight = std::clamp(weight, 0.0, 0.99);
    if (weight == smoothing_)
        return;
    smoothing_ = weight;
    const QSignalBlocker block(smoothSlider_);
    smoothSlider_->setValue(int(std::lround(weight * 100)));
    for (auto &s : series_) {
        rebuild(*s);
        applyVisibility(*s);
    }
    scheduleReplot();
}

void LivePlot::setLogY(bool on)
{
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

void LivePlot::setLegendCorner(Qt::Alignment corner)
{
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, corner);
    scheduleReplot();
}

void LivePlot::setSeriesVisible(int series, bool visible)
{
    Series &s = *series_.at(std::size_t(series));
    s.visible = visible;
    applyVisibility(s);
    scheduleReplot();
}

bool LivePlot::isSeriesVisible(int series) const
{
    return series_.at(std::size_t(series))->visible;
}

void LivePlot::applyVisibility(Series &s)
{
    s.smooth->setVisible(s.visible);
    // Faint raw points only when smoothing hides them behind the average.
    s.raw->setVisible(s.visible && smoothing_ > 0);
    // A hidden series stays in the legend, greyed, so it can be clicked back on.
    if (auto *item = plot_->legend->itemWithPlottable(s.smooth))
        item->setTextColor(s.visible ? palette().color(QPalette::Text) : palette().color(QPalette::PlaceholderText));
}

void LivePlot::resetView()
{
    followData_ = true;
    fitToData();
    plot_->replot();
}

void LivePlot::fitToData()
{
    plot_->rescaleAxes(true);
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
    return int(series_.at(std::size_t(series))->y.size());
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
    scheduleReplot(); // points that arrived while hidden were not drawn
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
        appendPending(*s);
    plot_->legend->setVisible(!series_.empty());
    if (!isVisible() && replots_ > 0)
        return; // drawn when shown again
    if (followData_)
        fitToData();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}
