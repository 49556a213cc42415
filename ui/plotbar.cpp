#include "plotbar.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSlider>
#include <QToolButton>

PlotBar::PlotBar(const QString &title, QWidget *parent)
    : QWidget(parent), smooth_(new QSlider(Qt::Horizontal, this)), log_(new QCheckBox(tr("Log y"), this)),
      x_(new QComboBox(this))
{
    auto *titleLabel = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()), this);
    // The four plots share the width beside the set-up panel: on a narrow
    // window the title may be cut rather than widen it.
    titleLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    titleLabel->setMinimumWidth(titleLabel->fontMetrics().horizontalAdvance(title.left(4)));
    smooth_->setRange(0, 99);
    smooth_->setMaximumWidth(80);
    smooth_->setMinimumWidth(40);
    smooth_->setToolTip(tr("Smoothing: exponential moving average of the points (raw points stay faint)"));
    log_->setToolTip(tr("Logarithmic y axis; chosen by itself where the values span more than two decades, "
                        "until you choose"));
    x_->addItem(tr("by step"));
    x_->addItem(tr("by epoch"));
    x_->setToolTip(tr("Horizontal axis: training steps or epochs of each stage"));
    auto *more = new QToolButton(this);
    more->setText(tr("⋯"));
    more->setToolTip(tr("Fit to the data, export"));
    more->setPopupMode(QToolButton::InstantPopup);
    auto *menu = new QMenu(more);
    menu->addAction(tr("&Fit to the data"), this, &PlotBar::fitRequested)
        ->setToolTip(tr("Show all the data again after zooming or panning"));
    menu->addAction(tr("&Export as PNG or PDF…"), this, &PlotBar::exportRequested);
    more->setMenu(menu);

    auto *bar = new QHBoxLayout(this);
    bar->setContentsMargins(0, 0, 0, 0);
    bar->addWidget(titleLabel, 1);
    bar->addWidget(new QLabel(tr("Smooth"), this));
    bar->addWidget(smooth_);
    bar->addWidget(log_);
    bar->addWidget(x_);
    bar->addWidget(more);
}
