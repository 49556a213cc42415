#include "insightplot.h"

#include "plotlook.h"

#include <qcustomplot.h>

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

InsightPlot::InsightPlot(const QString &title, const QString &howComputed, QWidget *parent)
    : QWidget(parent), name_(title), title_(new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), this)),
      controls_(new QHBoxLayout), plot_(new QCustomPlot(this))
{
    title_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    title_->setMinimumWidth(title_->fontMetrics().horizontalAdvance(title.left(6)));
    title_->setToolTip(howComputed);
    plot_->setToolTip(howComputed);
    auto *more = new QToolButton(this);
    more->setText(tr("⋯"));
    more->setToolTip(tr("Export this figure"));
    more->setPopupMode(QToolButton::InstantPopup);
    auto *menu = new QMenu(more);
    menu->addAction(tr("&Export as PNG or PDF…"), this, &InsightPlot::exportWithDialog);
    more->setMenu(menu);
    plot_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(plot_, &QWidget::customContextMenuRequested, this,
            [this, menu](const QPoint &p) { menu->popup(plot_->mapToGlobal(p)); });

    controls_->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(title_, 1);
    bar->addLayout(controls_);
    bar->addWidget(more);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(plot_, 1);
    plot_->setMinimumSize(160, 140);
    plotlook::applyPalette(plot_, palette());
}

void InsightPlot::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        plotlook::applyPalette(plot_, palette());
        plot_->replot();
    }
}

void InsightPlot::exportWithDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export figure"), name_ + QStringLiteral(".png"),
                                                      tr("PNG image (*.png);;PDF document (*.pdf)"));
    QString error;
    if (!path.isEmpty() && !exportTo(path, &error))
        QMessageBox::warning(this, tr("Export figure"), error);
}

bool InsightPlot::exportTo(const QString &path, QString *error)
{
    const bool pdf = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
    const bool ok = pdf ? plot_->savePdf(path) : plot_->savePng(path, 0, 0, 2.0);
    if (!ok && error)
        *error = tr("Could not write %1").arg(path);
    return ok;
}

namespace insight {

void setClassTicks(QCustomPlot *plot, const QStringList &names, bool bottom)
{
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int k = 0; k < names.size(); ++k)
        ticker->addTick(k, names[k].left(14));
    QCPAxis *axis = bottom ? plot->xAxis : plot->yAxis;
    axis->setTicker(ticker);
    axis->setSubTicks(false);
    axis->setTickLength(0, 3);
    axis->grid()->setVisible(false);
    if (bottom)
        axis->setTickLabelRotation(names.size() > 6 ? 35 : 0);
}

Heatmap makeHeatmap(QCustomPlot *plot, const QString &scaleLabel)
{
    Heatmap h;
    h.map = new QCPColorMap(plot->xAxis, plot->yAxis);
    h.map->setInterpolate(false);
    h.scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(0, 1, h.scale);
    h.scale->setType(QCPAxis::atRight);
    h.scale->setBarWidth(10);
    h.scale->axis()->setLabel(scaleLabel);
    h.map->setColorScale(h.scale);
    auto *group = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    h.scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    plot->yAxis->setRangeReversed(true);
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setVisible(false);
    return h;
}

void resizeHeatmap(Heatmap &h, const QStringList &names, const QString &xLabel, const QString &yLabel)
{
    const int k = int(names.size());
    QCustomPlot *plot = h.map->parentPlot();
    h.map->data()->setSize(k, k);
    h.map->data()->setRange(QCPRange(0, k - 1), QCPRange(0, k - 1));
    plot->xAxis->setRange(-0.5, k - 0.5);
    plot->yAxis->setRange(-0.5, k - 0.5);
    setClassTicks(plot, names, true);
    setClassTicks(plot, names, false);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    h.classes = k;
    for (QCPItemText *t : std::as_const(h.texts))
        plot->removeItem(t);
    h.texts.clear();
    if (k > 15)
        return; // too small to read; the tooltip of the cells says it
    for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) {
            auto *t = new QCPItemText(plot);
            t->position->setCoords(c, r);
            t->setClipToAxisRect(true);
            QFont f = plot->font();
            f.setPointSizeF(k > 10 ? f.pointSizeF() * 0.7 : f.pointSizeF() * 0.85);
            t->setFont(f);
            h.texts << t;
        }
}

void setCellTexts(Heatmap &h, const std::function<QString(int, int)> &text)
{
    if (h.texts.isEmpty())
        return;
    QCPColorGradient gradient = h.map->gradient();
    const QCPRange range = h.map->dataRange();
    for (int r = 0; r < h.classes; ++r)
        for (int c = 0; c < h.classes; ++c) {
            QCPItemText *t = h.texts[r * h.classes + c];
            const double z = h.map->data()->cell(c, r);
            t->setText(text(r, c));
            const QColor fill = std::isfinite(z) ? QColor(gradient.color(z, range)) : QColor(Qt::white);
            t->setColor(fill.lightness() < 120 ? Qt::white : Qt::black);
        }
}

bool cellAt(const Heatmap &h, const QPointF &pos, int *row, int *column)
{
    QCustomPlot *plot = h.map->parentPlot();
    if (!h.classes || !plot->axisRect()->rect().contains(pos.toPoint()))
        return false;
    const int c = int(std::lround(plot->xAxis->pixelToCoord(pos.x())));
    const int r = int(std::lround(plot->yAxis->pixelToCoord(pos.y())));
    if (r < 0 || c < 0 || r >= h.classes || c >= h.classes)
        return false;
    *row = r;
    *column = c;
    return true;
}

void useSequential(Heatmap &h, const QColor &color)
{
    QCPColorGradient g;
    g.setColorStopAt(0.0, QColor(250, 250, 250));
    g.setColorStopAt(0.15, color.lighter(170));
    g.setColorStopAt(1.0, color.darker(130));
    g.setNanHandling(QCPColorGradient::nhTransparent);
    h.map->setGradient(g);
}

void useDiverging(Heatmap &h)
{
    QCPColorGradient g;
    g.setColorStopAt(0.0, QColor(178, 24, 43));   // fewer than the baseline
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(1.0, QColor(33, 102, 172));  // more than the baseline
    g.setNanHandling(QCPColorGradient::nhTransparent);
    h.map->setGradient(g);
}

void prepareSoftTargetPlot(QCustomPlot *p)
{
    p->yAxis->setLabel(QObject::tr("softmax(z / T)"));
    p->yAxis->setRange(0, 1.05);
    p->legend->setVisible(true);
    plotlook::placeLegendAbove(p);
    new QCPBarsGroup(p);
}

} // namespace insight
