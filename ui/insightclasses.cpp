#include "insightclasses.h"

#include "insightdata.h"
#include "insightplot.h"
#include "plotlook.h"
#include "stagestyle.h"

#include <qcustomplot.h>

#include <QHeaderView>
#include <QScrollBar>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

// A cell that sorts by its number (Qt::UserRole), NaN last, not by its text.
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(const QString &text, double value) : QTableWidgetItem(text)
    {
        setData(Qt::UserRole, value);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    }
    bool operator<(const QTableWidgetItem &other) const override
    {
        const double a = data(Qt::UserRole).toDouble(), b = other.data(Qt::UserRole).toDouble();
        if (std::isnan(a) || std::isnan(b))
            return !std::isnan(a) && std::isnan(b);
        return a < b;
    }
};

double classAccuracy(const StageAnalysis *s, int k)
{
    return s && k < int(s->perClassAccuracy.size()) ? s->perClassAccuracy[std::size_t(k)] : std::nan("");
}

QString percentText(double v)
{
    return std::isfinite(v) ? QString::number(100.0 * v, 'f', 1) + QLatin1Char('%') : QStringLiteral("–");
}

} // namespace

InsightClasses::InsightClasses(QWidget *parent)
    : QWidget(parent), table_(new QTableWidget(0, ColumnCount, this)),
      bars_(new InsightPlot(tr("Test accuracy per class"),
                            tr("Per class: the fraction of its test examples each model classifies right "
                               "(analysis/summary.json, per_class_accuracy)"),
                            this))
{
    table_->setHorizontalHeaderLabels({tr("Class"), tr("Examples"), tr("Teacher"), tr("Baseline"), tr("Student"),
                                       tr("Gain"), tr("Fixed"), tr("Broken")});
    const QStringList tips = {
        tr("The true class"), tr("Test examples of the class"),
        tr("Teacher's accuracy on the class's test examples"),
        tr("Baseline's accuracy (the student trained on the labels alone)"),
        tr("Distilled student's accuracy"),
        tr("Student − baseline accuracy on the class, in percentage points"),
        tr("Examples of the class the baseline gets wrong and the student right"),
        tr("Examples of the class the baseline gets right and the student wrong")};
    for (int c = 0; c < ColumnCount; ++c)
        table_->horizontalHeaderItem(c)->setToolTip(tips[c]);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setSortIndicator(Class, Qt::AscendingOrder);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setToolTip(tr("Click a column's header to sort by it"));

    QCustomPlot *p = bars_->plot();
    p->yAxis->setLabel(tr("test accuracy (%)"));
    p->legend->setVisible(true);
    plotlook::placeLegendAbove(p);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(table_);
    split->addWidget(bars_);
    split->setStretchFactor(0, 0); // the table as wide as its columns, the bars the rest
    split->setStretchFactor(1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
}

void InsightClasses::setRun(const InsightRun &run)
{
    fillTable(run);
    fillBars(run);
}

void InsightClasses::fillTable(const InsightRun &run)
{
    const StageAnalysis *teacher = run.stage(InsightModel::Teacher);
    const StageAnalysis *baseline = run.stage(InsightModel::Baseline);
    const StageAnalysis *student = run.stage(InsightModel::Student);
    const bool compared = student && student->baseline;
    table_->setSortingEnabled(false);
    table_->clearContents();
    table_->setRowCount(run.classes());
    for (int k = 0; k < run.classes(); ++k) {
        auto *name = new NumberItem(run.className(k), k);
        name->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
        table_->setItem(k, Class, name);
        const StageAnalysis *any = teacher ? teacher : student ? student : baseline;
        const double count = any && k < int(any->classCounts.size()) ? double(any->classCounts[std::size_t(k)]) : NAN;
        table_->setItem(k, Examples, new NumberItem(std::isfinite(count) ? QString::number(count) : QStringLiteral("–"), count));
        const double acc[] = {classAccuracy(teacher, k), classAccuracy(baseline, k), classAccuracy(student, k)};
        for (int m = 0; m < kInsightModels; ++m)
            table_->setItem(k, Teacher + m, new NumberItem(percentText(acc[m]), acc[m]));
        const double gain = 100.0 * (acc[2] - acc[1]);
        auto *gainItem = new NumberItem(std::isfinite(gain) ? QString::asprintf("%+.1f", gain) : QStringLiteral("–"), gain);
        if (std::isfinite(gain) && gain != 0.0)
            gainItem->setForeground(gain > 0 ? QColor(46, 125, 50) : QColor(198, 40, 40));
        table_->setItem(k, Gain, gainItem);
        const double fixed = compared ? double(student->baseline->fixed.perClass.at(std::size_t(k))) : NAN;
        const double broken = compared ? double(student->baseline->broken.perClass.at(std::size_t(k))) : NAN;
        table_->setItem(k, Fixed, new NumberItem(compared ? QString::number(fixed) : QStringLiteral("–"), fixed));
        table_->setItem(k, Broken, new NumberItem(compared ? QString::number(broken) : QStringLiteral("–"), broken));
    }
    table_->setSortingEnabled(true);
    // Every column in view: the table takes the room its columns need.
    table_->setMinimumWidth(std::min(640, table_->horizontalHeader()->length() + 2 * table_->frameWidth() +
                                              table_->verticalScrollBar()->sizeHint().width()));
}

void InsightClasses::fillBars(const InsightRun &run)
{
    QCustomPlot *p = bars_->plot();
    p->clearPlottables();
    auto *group = p->findChild<QCPBarsGroup *>();
    if (!group)
        group = new QCPBarsGroup(p);
    group->clear();
    group->setSpacing(1);
    const StageKind kinds[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};
    QStringList names;
    for (int k = 0; k < run.classes(); ++k)
        names << run.className(k);
    for (int m = 0; m < kInsightModels; ++m) {
        const StageAnalysis *s = run.stage(InsightModel(m));
        if (!s)
            continue;
        auto *bars = new QCPBars(p->xAxis, p->yAxis);
        bars->setName(modelTitle(InsightModel(m)));
        const QColor color = plotlook::onBackground(stageColor(kinds[m]), palette());
        bars->setPen(Qt::NoPen);
        bars->setBrush(color);
        bars->setWidth(0.8 / kInsightModels);
        bars->setBarsGroup(group);
        QVector<double> keys, values;
        for (int k = 0; k < run.classes(); ++k) {
            const double a = classAccuracy(s, k);
            keys << k;
            values << (std::isfinite(a) ? 100.0 * a : 0.0);
        }
        bars->setData(keys, values, true);
    }
    insight::setClassTicks(p, names);
    p->xAxis->setRange(-0.6, run.classes() - 0.4);
    p->yAxis->setRange(0, 105);
    p->replot();
}
