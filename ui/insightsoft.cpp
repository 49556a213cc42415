#include "insightsoft.h"

#include "insightdata.h"
#include "plotlook.h"
#include "stagestyle.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

InsightSoftTargets::InsightSoftTargets(QWidget *parent)
    : QWidget(parent), slider_(new QSlider(Qt::Horizontal, this)), tLabel_(new QLabel(this)),
      example_(new QSpinBox(this)), exampleLabel_(new QLabel(this)),
      offDiagonal_(new QCheckBox(tr("Off the diagonal"), this)),
      soft_(new InsightPlot(tr("Soft targets of one example"),
                            tr("softmax(z / T) of the example's stored test logits z (analysis/<stage>.logits), per "
                               "class: what the teacher teaches at temperature T, and what the student answers"),
                            this)),
      dark_(new InsightPlot(tr("Dark knowledge of the teacher"),
                            tr("Row y: the mean of the teacher's softmax(t / T) over the test examples of true class "
                               "y (darkKnowledge in distillery/analysis.h); each row sums to 1. The cells off the "
                               "diagonal are the similarities between classes that the soft targets carry."),
                            this))
{
    slider_->setRange(5, 200); // T from 0.5 to 20
    slider_->setValue(40);
    slider_->setMinimumWidth(160);
    slider_->setToolTip(tr("Temperature T of softmax(z / T): higher spreads the probability over the wrong classes"));
    tLabel_->setMinimumWidth(tLabel_->fontMetrics().horizontalAdvance(QStringLiteral("T = 20.0 (run's: 20.0)")));
    example_->setToolTip(tr("The example's index in the test split (or choose one in Confusion's list)"));
    exampleLabel_->setWordWrap(true);
    offDiagonal_->setToolTip(tr("Colour only the cells off the diagonal, on their own scale, so the small "
                                "probabilities of the wrong classes show"));
    auto *controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Example"), this));
    controls->addWidget(example_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Temperature"), this));
    controls->addWidget(slider_, 1);
    controls->addWidget(tLabel_);
    dark_->controls()->addWidget(offDiagonal_);

    QCustomPlot *p = soft_->plot();
    insight::prepareSoftTargetPlot(p);
    heat_ = insight::makeHeatmap(dark_->plot(), tr("mean probability"));
    insight::useSequential(heat_, stageColor(StageKind::Teacher));

    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(soft_);
    split->addWidget(dark_);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(controls);
    layout->addWidget(exampleLabel_);
    layout->addWidget(split, 1);

    connect(slider_, &QSlider::valueChanged, this, &InsightSoftTargets::redraw);
    connect(example_, qOverload<int>(&QSpinBox::valueChanged), this, [this] {
        drawSoftTargets();
        soft_->plot()->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(offDiagonal_, &QCheckBox::toggled, this, [this] {
        drawDarkKnowledge();
        dark_->plot()->replot(QCustomPlot::rpQueuedReplot);
    });
}

double InsightSoftTargets::temperature() const
{
    return double(slider_->value()) / kSliderScale;
}

void InsightSoftTargets::setTemperature(double t)
{
    slider_->setValue(int(std::lround(t * kSliderScale))); // redraws when it moves
}

void InsightSoftTargets::setExample(qint64 index)
{
    example_->setValue(int(index));
}

QCPBars *InsightSoftTargets::addBars(const QString &name, const QColor &color)
{
    QCustomPlot *p = soft_->plot();
    auto *bars = new QCPBars(p->xAxis, p->yAxis);
    bars->setName(name);
    bars->setPen(Qt::NoPen);
    bars->setBrush(plotlook::onBackground(color, palette()));
    bars->setWidth(0.38);
    bars->setBarsGroup(p->findChild<QCPBarsGroup *>());
    return bars;
}

void InsightSoftTargets::setRun(const InsightRun *run)
{
    run_ = run;
    QCustomPlot *p = soft_->plot();
    p->clearPlottables();
    teacherBars_ = studentBars_ = nullptr;
    QStringList names;
    for (int k = 0; run && k < run->classes(); ++k)
        names << run->className(k);
    insight::setClassTicks(p, names);
    p->xAxis->setRange(-0.6, names.size() - 0.4);
    insight::resizeHeatmap(heat_, names, tr("class"), tr("true class"));
    if (run && run->logitsOf(InsightModel::Teacher))
        teacherBars_ = addBars(tr("teacher"), stageColor(StageKind::Teacher));
    if (run && run->logitsOf(InsightModel::Student))
        studentBars_ = addBars(tr("student"), stageColor(StageKind::Distillation));
    const AnalysisLogits *any = run ? (run->logitsOf(InsightModel::Teacher) ? run->logitsOf(InsightModel::Teacher)
                                                                            : run->logitsOf(InsightModel::Student))
                                    : nullptr;
    {
        const QSignalBlocker block(example_);
        example_->setRange(0, any && any->rows > 0 ? int(any->indices.back()) : 0);
        example_->setEnabled(any != nullptr);
        const QSignalBlocker blockSlider(slider_);
        if (run)
            slider_->setValue(std::clamp(int(std::lround(run->summary.temperature * kSliderScale)), slider_->minimum(),
                                         slider_->maximum()));
    }
    redraw();
}

void InsightSoftTargets::redraw()
{
    const double t = temperature();
    tLabel_->setText(run_ ? tr("T = %1 (run's: %2)").arg(t, 0, 'f', 1).arg(run_->summary.temperature, 0, 'g', 3)
                          : tr("T = %1").arg(t, 0, 'f', 1));
    drawSoftTargets();
    drawDarkKnowledge();
    soft_->plot()->replot(QCustomPlot::rpQueuedReplot);
    dark_->plot()->replot(QCustomPlot::rpQueuedReplot);
}

void InsightSoftTargets::drawSoftTargets()
{
    if (!run_)
        return;
    const qint64 index = example_->value();
    const double t = temperature();
    QString text;
    const InsightModel models[] = {InsightModel::Teacher, InsightModel::Student};
    QCPBars *bars[] = {teacherBars_, studentBars_};
    for (int i = 0; i < 2; ++i) {
        const AnalysisLogits *l = run_->logitsOf(models[i]);
        const std::int64_t row = run_->rowOf(models[i], index);
        if (!bars[i] || !l || row < 0)
            continue;
        const std::vector<double> p = softmaxAt(l->view().row(row), l->classes, t);
        QVector<double> keys(int(p.size())), values(int(p.size()));
        for (int k = 0; k < int(p.size()); ++k) {
            keys[k] = k;
            values[k] = p[std::size_t(k)];
        }
        bars[i]->setData(keys, values, true);
        if (text.isEmpty())
            text = tr("Example %1, true class <b>%2</b>").arg(index).arg(run_->className(l->labels[std::size_t(row)]).toHtmlEscaped());
        text += tr(" · %1 predicts <b>%2</b>").arg(modelTitle(models[i]), run_->className(run_->predicted[int(models[i])][std::size_t(row)]).toHtmlEscaped());
    }
    exampleLabel_->setText(text.isEmpty() ? tr("No logits to show: the stages' logits files could not be read.") : text);
}

void InsightSoftTargets::drawDarkKnowledge()
{
    const AnalysisLogits *teacher = run_ ? run_->logitsOf(InsightModel::Teacher) : nullptr;
    if (!teacher || heat_.classes != teacher->classes) {
        heat_.map->data()->fill(std::nan(""));
        return;
    }
    const auto m = darkKnowledge(teacher->view(), teacher->labels.data(), temperature());
    const bool off = offDiagonal_->isChecked();
    double top = 0.0;
    for (int r = 0; r < heat_.classes; ++r)
        for (int c = 0; c < heat_.classes; ++c) {
            const double v = off && r == c ? std::nan("") : m[std::size_t(r)][std::size_t(c)];
            heat_.map->data()->setCell(c, r, v);
            if (std::isfinite(v))
                top = std::max(top, v);
        }
    heat_.map->setDataRange(QCPRange(0, off ? std::max(top, 1e-6) : 1.0));
    insight::setCellTexts(heat_, [&](int r, int c) {
        const double v = m[std::size_t(r)][std::size_t(c)];
        return std::isfinite(v) ? QString::number(v, 'f', 2).mid(v < 1 ? 1 : 0) : QString();
    });
}
