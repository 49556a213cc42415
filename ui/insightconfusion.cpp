#include "insightconfusion.h"

#include "insightdata.h"
#include "stagestyle.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

const distillery::StageKind kKinds[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};

std::int64_t confusionAt(const StageAnalysis *s, int row, int column)
{
    if (!s || row >= int(s->confusion.size()) || column >= int(s->confusion[std::size_t(row)].size()))
        return 0;
    return s->confusion[std::size_t(row)][std::size_t(column)];
}

} // namespace

InsightConfusion::InsightConfusion(QWidget *parent)
    : QWidget(parent), model_(new QComboBox(this)),
      plot_(new InsightPlot(tr("Confusion matrix"),
                            tr("Test examples counted by true class (rows) and predicted class (columns: the argmax "
                               "of the model's logits). The difference is the student's count minus the baseline's: "
                               "blue where the student has more, red where fewer. Click a cell to list its examples."),
                            this)),
      caption_(new QLabel(this)), examples_(new QTableWidget(0, 5, this)),
      browse_(new QPushButton(tr("Show in Examples"), this))
{
    model_->addItems({tr("teacher"), tr("baseline"), tr("student"), tr("student − baseline")});
    model_->setCurrentIndex(Student);
    model_->setToolTip(tr("Whose confusion matrix, or the student's minus the baseline's"));
    plot_->controls()->addWidget(model_);
    heat_ = insight::makeHeatmap(plot_->plot(), tr("examples"));
    marker_ = new QCPItemRect(plot_->plot()); // the cell whose examples are listed
    marker_->setPen(QPen(QColor(255, 160, 0), 3));
    marker_->setBrush(Qt::NoBrush);
    marker_->setVisible(false);
    connect(model_, qOverload<int>(&QComboBox::currentIndexChanged), this, &InsightConfusion::setMode);
    connect(plot_->plot(), &QCustomPlot::mouseRelease, this, [this](QMouseEvent *e) {
        int row = 0, column = 0;
        if (e->button() == Qt::LeftButton && insight::cellAt(heat_, e->position(), &row, &column))
            showCell(row, column);
    });

    caption_->setWordWrap(true);
    caption_->setText(tr("Click a cell of the matrix to list its examples."));
    examples_->setHorizontalHeaderLabels({tr("Example"), tr("True"), tr("Teacher"), tr("Baseline"), tr("Student")});
    examples_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    examples_->horizontalHeader()->setStretchLastSection(true);
    examples_->setWordWrap(false);
    examples_->verticalHeader()->setDefaultSectionSize(examples_->fontMetrics().height() + 6);
    examples_->verticalHeader()->hide();
    examples_->setSelectionBehavior(QAbstractItemView::SelectRows);
    examples_->setSelectionMode(QAbstractItemView::SingleSelection);
    examples_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    examples_->setToolTip(tr("The example's index in the test split, its true class and each model's prediction. "
                             "Select one to see its soft targets; double-click to go there."));
    connect(examples_, &QTableWidget::itemSelectionChanged, this, [this] {
        const auto rows = examples_->selectionModel()->selectedRows();
        if (!rows.isEmpty())
            Q_EMIT exampleChosen(examples_->item(rows.first().row(), 0)->data(Qt::UserRole).toLongLong());
    });
    connect(examples_, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        Q_EMIT exampleOpened(examples_->item(row, 0)->data(Qt::UserRole).toLongLong());
    });

    auto *list = new QWidget(this);
    auto *listLayout = new QVBoxLayout(list);
    listLayout->setContentsMargins(2, 2, 2, 2);
    browse_->setToolTip(tr("These examples in the Examples tab: with their pictures, KL to the teacher and "
                           "the other filters"));
    browse_->setEnabled(false);
    connect(browse_, &QPushButton::clicked, this, [this] {
        if (cellRow_ >= 0 && cellMode_ != Difference)
            Q_EMIT cellOpened(cellMode_, cellRow_, cellColumn_);
    });
    auto *captionLine = new QHBoxLayout;
    captionLine->addWidget(caption_, 1);
    captionLine->addWidget(browse_);
    listLayout->addLayout(captionLine);
    listLayout->addWidget(examples_, 1);
    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(plot_);
    split->addWidget(list);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
}

void InsightConfusion::setRun(const InsightRun *run)
{
    run_ = run;
    QStringList names;
    for (int k = 0; run && k < run->classes(); ++k)
        names << run->className(k);
    insight::resizeHeatmap(heat_, names, tr("predicted class"), tr("true class"));
    examples_->setRowCount(0);
    marker_->setVisible(false);
    cellRow_ = cellColumn_ = -1;
    browse_->setEnabled(false);
    caption_->setText(tr("Click a cell of the matrix to list its examples."));
    // The student where there is one, else the last model analysed.
    int mode = model_->currentIndex();
    if (run && !run->stage(InsightModel(std::min(mode, int(Student)))))
        mode = run->stage(InsightModel::Student) ? Student : run->stage(InsightModel::Baseline) ? Baseline : Teacher;
    {
        const QSignalBlocker block(model_);
        model_->setCurrentIndex(mode);
    }
    draw();
    // To begin with, the examples of the model's most common confusion.
    const StageAnalysis *s = run ? run->stage(InsightModel(mode)) : nullptr;
    int top = 0, row = -1, column = -1;
    for (int r = 0; s && r < run->classes(); ++r)
        for (int c = 0; c < run->classes(); ++c)
            if (r != c && confusionAt(s, r, c) > top) {
                top = int(confusionAt(s, r, c));
                row = r;
                column = c;
            }
    if (row >= 0)
        showCell(row, column);
}

void InsightConfusion::setMode(int mode)
{
    if (model_->currentIndex() != mode)
        model_->setCurrentIndex(mode); // comes back here
    else
        draw();
}

void InsightConfusion::draw()
{
    if (!run_)
        return;
    const int mode = model_->currentIndex();
    const int k = run_->classes();
    const StageAnalysis *student = run_->stage(InsightModel::Student);
    const StageAnalysis *baseline = run_->stage(InsightModel::Baseline);
    const StageAnalysis *shown = mode == Difference ? nullptr : run_->stage(InsightModel(mode));
    double extreme = 0.0;
    for (int r = 0; r < k; ++r)
        for (int c = 0; c < k; ++c) {
            const double z = mode == Difference ? double(confusionAt(student, r, c) - confusionAt(baseline, r, c))
                                                : double(confusionAt(shown, r, c));
            heat_.map->data()->setCell(c, r, z);
            extreme = std::max(extreme, std::abs(z));
        }
    if (mode == Difference) {
        insight::useDiverging(heat_);
        heat_.map->setDataRange(QCPRange(-std::max(1.0, extreme), std::max(1.0, extreme)));
        heat_.scale->axis()->setLabel(tr("student − baseline (examples)"));
    } else {
        insight::useSequential(heat_, stageColor(kKinds[mode]));
        heat_.map->setDataRange(QCPRange(0, std::max(1.0, extreme)));
        heat_.scale->axis()->setLabel(tr("examples"));
    }
    insight::setCellTexts(heat_, [&](int r, int c) {
        const double z = heat_.map->data()->cell(c, r);
        return mode == Difference ? (z == 0 ? QString() : QString::asprintf("%+.0f", z)) : QString::number(z);
    });
    plot_->plot()->replot();
}

void InsightConfusion::showCell(int trueClass, int predicted)
{
    if (!run_)
        return;
    const int mode = model_->currentIndex();
    std::vector<std::int64_t> found;
    if (mode == Difference) {
        found = examplesInCell(*run_, InsightModel::Student, trueClass, predicted);
        const auto base = examplesInCell(*run_, InsightModel::Baseline, trueClass, predicted);
        found.insert(found.end(), base.begin(), base.end());
        std::sort(found.begin(), found.end());
        found.erase(std::unique(found.begin(), found.end()), found.end());
    } else {
        found = examplesInCell(*run_, InsightModel(mode), trueClass, predicted);
    }
    const QString who = mode == Difference ? tr("the student or the baseline") : model_->currentText();
    QString text = tr("%n example(s) of %1 predicted %2 by %3", nullptr, int(found.size()))
                       .arg(run_->className(trueClass), run_->className(predicted), who);
    if (mode != Difference && !run_->logitsOf(InsightModel(mode)))
        text = tr("The %1's logits file could not be read: no examples to list.").arg(who);
    if (int(found.size()) > kMaxListed)
        text += tr(" (the first %1 listed)").arg(kMaxListed);
    caption_->setText(text);
    cellRow_ = trueClass;
    cellColumn_ = predicted;
    cellMode_ = mode; // the model whose cell is listed
    browse_->setEnabled(mode != Difference && run_->logitsOf(InsightModel(mode)));
    marker_->topLeft->setCoords(predicted - 0.5, trueClass - 0.5);
    marker_->bottomRight->setCoords(predicted + 0.5, trueClass + 0.5);
    marker_->setVisible(true);
    plot_->plot()->replot(QCustomPlot::rpQueuedReplot);
    const QSignalBlocker block(examples_);
    examples_->setRowCount(std::min(int(found.size()), kMaxListed));
    for (int i = 0; i < examples_->rowCount(); ++i) {
        const std::int64_t index = found[std::size_t(i)];
        auto *first = new QTableWidgetItem(QString::number(index));
        first->setData(Qt::UserRole, qint64(index));
        examples_->setItem(i, 0, first);
        QString truth = QStringLiteral("–");
        for (int m = 0; m < kInsightModels; ++m) {
            const std::int64_t row = run_->rowOf(InsightModel(m), index);
            QString text = QStringLiteral("–");
            if (row >= 0) {
                const std::int64_t p = run_->predicted[std::size_t(m)][std::size_t(row)];
                const std::int64_t y = run_->logitsOf(InsightModel(m))->labels[std::size_t(row)];
                truth = run_->className(y);
                text = run_->className(p) + (p == y ? QStringLiteral(" ✓") : QString());
            }
            examples_->setItem(i, 2 + m, new QTableWidgetItem(text));
        }
        examples_->setItem(i, 1, new QTableWidgetItem(truth));
    }
}

QList<std::int64_t> InsightConfusion::listedExamples() const
{
    QList<std::int64_t> out;
    for (int i = 0; i < examples_->rowCount(); ++i)
        out << examples_->item(i, 0)->data(Qt::UserRole).toLongLong();
    return out;
}
