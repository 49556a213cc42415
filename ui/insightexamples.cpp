#include "insightexamples.h"

#include "insightdata.h"
#include "insightplot.h"
#include "plotlook.h"
#include "stagestyle.h"

#include "distillery/data.h"
#include "distillery/experiment.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLocale>
#include <QSplitter>
#include <QTableView>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

const StageKind kKinds[] = {StageKind::Teacher, StageKind::Baseline, StageKind::Distillation};

QString countText(const QString &what, const ExampleSet &set)
{
    return QStringLiteral("%1 (%2)").arg(what, QLocale().toString(set.count));
}

} // namespace

InsightExamples::InsightExamples(QWidget *parent)
    : QWidget(parent), model_(new InsightExampleModel(this)), quadrant_(new QComboBox(this)),
      change_(new QComboBox(this)), class_(new QComboBox(this)), order_(new QComboBox(this)),
      cell_(new QToolButton(this)), count_(new QLabel(this)), data_(new QLabel(this)), list_(new QTableView(this)),
      picture_(new QLabel(this)), info_(new QLabel(this)),
      soft_(new InsightPlot(tr("Soft targets"),
                            tr("softmax(z / T) of the example's stored test logits z, per class, at the run's "
                               "temperature T; double-click the example for the Soft targets tab's slider"),
                            this))
{
    quadrant_->setToolTip(tr("Teacher × student: which of the two get the example right (the student's "
                             "quadrants in analysis/summary.json); first item: every example"));
    change_->setToolTip(tr("The student against the baseline: fixed (the baseline wrong, the student right) "
                           "or broken (the baseline right, the student wrong); first item: every example"));
    class_->setToolTip(tr("Only the examples of one true class"));
    order_->addItems({tr("By KL, largest first"), tr("By index")});
    order_->setToolTip(tr("KL(teacher ‖ student) at T = 1: where the student follows the teacher least"));
    auto *filters = new QHBoxLayout;
    for (QComboBox *box : {quadrant_, change_, class_, order_}) {
        box->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        filters->addWidget(box);
        connect(box, qOverload<int>(&QComboBox::currentIndexChanged), this, &InsightExamples::applyFilter);
    }
    cell_->setToolTip(tr("Only the examples the model predicts as this class (a confusion cell): click to list every prediction again"));
    cell_->hide();
    connect(cell_, &QToolButton::clicked, this, [this] {
        ExampleFilter f = filter();
        f.predictedBy = f.predicted = -1;
        setFilter(f);
    });
    filters->addWidget(cell_);
    filters->addWidget(count_, 1);
    count_->setMinimumWidth(1); // the filters first; the window stays narrow enough for 1280 pixels
    data_->setWordWrap(true);
    data_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    data_->hide();

    list_->setModel(model_);
    list_->setSelectionBehavior(QAbstractItemView::SelectRows);
    list_->setSelectionMode(QAbstractItemView::SingleSelection);
    list_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    list_->setWordWrap(false);
    list_->verticalHeader()->hide();
    list_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    list_->verticalHeader()->setDefaultSectionSize(list_->fontMetrics().height() + 6);
    list_->horizontalHeader()->setStretchLastSection(true);
    list_->setToolTip(tr("The test examples: select one to see it large with its soft targets; "
                         "double-click for the Soft targets tab"));
    connect(list_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex &current) {
                const qint64 index = model_->exampleAt(current.row());
                showDetail(index);
                if (index >= 0)
                    Q_EMIT exampleChosen(index);
            });
    connect(list_, &QTableView::doubleClicked, this, [this](const QModelIndex &i) {
        if (model_->exampleAt(i.row()) >= 0)
            Q_EMIT exampleOpened(model_->exampleAt(i.row()));
    });

    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(list_);
    split->addWidget(makeDetail());
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(filters);
    layout->addWidget(data_);
    layout->addWidget(split, 1);
}

// The chosen example: its picture, the models' predictions, its soft targets.
QWidget *InsightExamples::makeDetail()
{
    picture_->setAlignment(Qt::AlignCenter);
    info_->setWordWrap(true);
    info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QCustomPlot *p = soft_->plot();
    insight::prepareSoftTargetPlot(p);

    auto *detail = new QWidget(this);
    auto *detailLayout = new QVBoxLayout(detail);
    detailLayout->setContentsMargins(2, 2, 2, 2);
    detailLayout->addWidget(picture_);
    detailLayout->addWidget(info_);
    detailLayout->addWidget(soft_, 1);
    return detail;
}

InsightExamples::~InsightExamples()
{
    ++generation_; // a result still on its way is dropped
    for (const QPointer<QThread> &t : loaders_)
        if (t)
            t->wait();
}

bool InsightExamples::inputsLoaded() const
{
    return run_ && inputs_.done && inputs_.runDir == run_->runDir;
}

void InsightExamples::setRun(const InsightRun *run)
{
    run_ = run;
    const ExampleFilter kept = filter();
    model_->setRun(run);
    fillFilters();
    setFilter(kept);
    // The same run read again (a stage finished): its pictures are kept.
    if (run && inputs_.done && inputs_.runDir == run->runDir)
        model_->setInputs(inputs_.indices, inputs_.images, inputs_.features);
    else if (run && inputs_.runDir != run->runDir)
        inputs_ = Inputs();
    list_->setColumnHidden(InsightExampleModel::Input, !inputs_.error.isEmpty());
    data_->setVisible(run && inputs_.runDir == run->runDir && (!inputs_.done || !inputs_.error.isEmpty()));

    // Thumbnails set the rows' height; the columns fit a typical row.
    const int thumb = model_->thumbnailSize().height();
    list_->verticalHeader()->setDefaultSectionSize(std::max(list_->fontMetrics().height() + 6, thumb + 4));
    list_->setIconSize(model_->thumbnailSize());
    makeBars();
    showDetail(-1);
    if (isVisible())
        startLoading();
}

void InsightExamples::makeBars()
{
    QCustomPlot *p = soft_->plot();
    p->clearPlottables();
    bars_.assign(kInsightModels, nullptr);
    QStringList names;
    for (int k = 0; run_ && k < run_->classes(); ++k)
        names << run_->className(k);
    insight::setClassTicks(p, names);
    p->xAxis->setRange(-0.6, names.size() - 0.4);
    for (int m = 0; run_ && m < kInsightModels; ++m) {
        if (!run_->logitsOf(InsightModel(m)))
            continue;
        auto *bars = new QCPBars(p->xAxis, p->yAxis);
        bars->setName(modelTitle(InsightModel(m)));
        bars->setPen(Qt::NoPen);
        bars->setBrush(plotlook::onBackground(stageColor(kKinds[m]), palette()));
        bars->setWidth(0.27);
        bars->setBarsGroup(p->findChild<QCPBarsGroup *>());
        bars_[std::size_t(m)] = bars;
    }
}

void InsightExamples::fillFilters()
{
    for (QComboBox *box : {quadrant_, change_, class_})
        box->blockSignals(true);
    quadrant_->clear();
    change_->clear();
    class_->clear();
    quadrant_->addItem(tr("Teacher × student"));
    change_->addItem(tr("Fixed or broken"));
    class_->addItem(tr("All classes"));
    const StageAnalysis *s = run_ ? run_->stage(InsightModel::Student) : nullptr;
    if (s && s->teacher) {
        quadrant_->addItem(countText(tr("Both right"), s->teacher->bothRight));
        quadrant_->addItem(countText(tr("Teacher only right"), s->teacher->teacherOnly));
        quadrant_->addItem(countText(tr("Student only right"), s->teacher->modelOnly));
        quadrant_->addItem(countText(tr("Both wrong"), s->teacher->bothWrong));
    }
    if (s && s->baseline) {
        change_->addItem(countText(tr("Fixed"), s->baseline->fixed));
        change_->addItem(countText(tr("Broken"), s->baseline->broken));
    }
    for (int k = 0; run_ && k < run_->classes(); ++k)
        class_->addItem(run_->className(k));
    quadrant_->setEnabled(model_->hasQuadrants());
    change_->setEnabled(model_->hasChanges());
    for (QComboBox *box : {quadrant_, change_, class_})
        box->blockSignals(false);
}

ExampleFilter InsightExamples::filter() const
{
    ExampleFilter f;
    f.quadrant = std::max(-1, quadrant_->currentIndex() - 1); // the first item: all
    f.change = std::max(-1, change_->currentIndex() - 1);
    f.trueClass = std::max(-1, class_->currentIndex() - 1);
    f.order = order_->currentIndex() == 1 ? ExampleFilter::ByIndex : ExampleFilter::ByKl;
    f.predictedBy = predictedBy_;
    f.predicted = predicted_;
    return f;
}

void InsightExamples::setFilter(const ExampleFilter &f)
{
    for (QComboBox *box : {quadrant_, change_, class_, order_})
        box->blockSignals(true);
    auto choose = [](QComboBox *box, int value) {
        box->setCurrentIndex(value >= 0 && value + 1 < box->count() ? value + 1 : 0);
    };
    choose(quadrant_, f.quadrant);
    choose(change_, f.change);
    choose(class_, f.trueClass);
    order_->setCurrentIndex(f.order == ExampleFilter::ByIndex ? 1 : 0);
    const bool cell = run_ && f.predictedBy >= 0 && f.predictedBy < kInsightModels;
    predictedBy_ = cell ? f.predictedBy : -1;
    predicted_ = cell ? f.predicted : -1;
    if (cell)
        cell_->setText(tr("%1 by the %2 ✕")
                           .arg(run_->className(predicted_), modelTitle(InsightModel(predictedBy_))));
    cell_->setVisible(cell);
    for (QComboBox *box : {quadrant_, change_, class_, order_})
        box->blockSignals(false);
    applyFilter();
}

void InsightExamples::applyFilter()
{
    const qint64 chosen = model_->exampleAt(list_->currentIndex().row());
    model_->setFilter(filter());
    qint64 total = model_->rowCount(); // all the examples: any model's logits hold them
    for (int m = 0; run_ && m < kInsightModels; ++m)
        if (const AnalysisLogits *l = run_->logitsOf(InsightModel(m)))
            total = std::max<qint64>(total, l->rows);
    count_->setText(tr("%1 of %2 examples").arg(QLocale().toString(model_->rowCount()), QLocale().toString(total)));
    selectExample(chosen);
    if (model_->rowOfExample(chosen) < 0)
        showDetail(-1);
}

void InsightExamples::selectExample(qint64 index)
{
    const int row = index < 0 ? -1 : model_->rowOfExample(index);
    if (row < 0)
        return;
    list_->setCurrentIndex(model_->index(row, 0));
    list_->scrollTo(model_->index(row, 0));
}

void InsightExamples::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    startLoading();
}

void InsightExamples::startLoading()
{
    std::vector<std::int64_t> rows = model_ ? model_->examples() : std::vector<std::int64_t>();
    if (!run_ || run_->runDir.isEmpty() || inputs_.runDir == run_->runDir || rows.empty())
        return; // read (or being read) already
    inputs_ = Inputs();
    inputs_.runDir = run_->runDir;
    data_->setText(tr("Reading the data set…"));
    data_->setStyleSheet(QString());
    data_->show();
    const int generation = ++generation_;
    const QString runDir = run_->runDir;
    // Fashion-MNIST takes a second: read off the GUI thread; the result comes
    // back as a queued call (the destructor waits for the thread).
    QThread *thread = QThread::create([this, generation, runDir, rows] {
        Inputs in;
        in.runDir = runDir;
        in.done = true;
        RunExamples ex = readRunExamples(runDir, "test", rows);
        in.indices = std::move(ex.rows);
        in.images = std::move(ex.images);
        in.features = std::move(ex.features);
        in.error = ex.error;
        QMetaObject::invokeMethod(
            this, [this, generation, in] { loaded(generation, in); }, Qt::QueuedConnection);
    });
    connect(thread, &QThread::finished, thread, &QObject::deleteLater, Qt::QueuedConnection);
    loaders_.removeAll(nullptr);
    loaders_.append(thread);
    thread->start();
}

void InsightExamples::loaded(int generation, Inputs inputs)
{
    if (generation != generation_ || !run_ || inputs.runDir != run_->runDir)
        return;
    inputs_ = std::move(inputs);
    if (!inputs_.error.isEmpty()) {
        data_->setText(tr("The data set could not be read, so the examples are listed without pictures: %1")
                           .arg(inputs_.error));
        data_->setStyleSheet(QStringLiteral("QLabel { color: #b71c1c; }"));
    }
    data_->setVisible(!inputs_.error.isEmpty());
    list_->setColumnHidden(InsightExampleModel::Input, !inputs_.error.isEmpty()); // nothing to show there
    model_->setInputs(inputs_.indices, inputs_.images, inputs_.features);
    const QSize thumb = model_->thumbnailSize();
    list_->setIconSize(thumb);
    list_->verticalHeader()->setDefaultSectionSize(std::max(list_->fontMetrics().height() + 6, thumb.height() + 4));
    showDetail(model_->exampleAt(list_->currentIndex().row()));
}

void InsightExamples::showDetail(qint64 index)
{
    const QImage image = model_->image(index);
    if (image.isNull()) {
        picture_->clear();
        picture_->setVisible(false);
    } else {
        const int side = std::max(image.width(), image.height());
        const int scale = std::max(1, 192 / std::max(1, side));
        picture_->setPixmap(QPixmap::fromImage(image.scaled(image.size() * scale, Qt::KeepAspectRatio,
                                                            Qt::FastTransformation)));
        picture_->setVisible(true);
    }
    const double t = run_ ? run_->summary.temperature : 1.0;
    QStringList lines;
    for (int m = 0; m < kInsightModels; ++m) {
        QCPBars *bars = m < int(bars_.size()) ? bars_[std::size_t(m)] : nullptr;
        const std::int64_t row = run_ && index >= 0 ? run_->rowOf(InsightModel(m), index) : -1;
        if (bars)
            bars->data()->clear();
        if (row < 0)
            continue;
        const AnalysisLogits *l = run_->logitsOf(InsightModel(m));
        const std::vector<double> p = softmaxAt(l->view().row(row), l->classes, t);
        QVector<double> keys, values;
        for (std::size_t k = 0; k < p.size(); ++k) {
            keys << double(k);
            values << p[k];
        }
        if (bars)
            bars->setData(keys, values, true);
        const std::int64_t predicted = run_->predicted[std::size_t(m)][std::size_t(row)];
        const bool right = predicted == l->labels[std::size_t(row)];
        lines << tr("%1: %2 %3").arg(modelTitle(InsightModel(m)), run_->className(predicted).toHtmlEscaped(),
                                     right ? QStringLiteral("✓") : QStringLiteral("<span style='color:#c62828'>✗</span>"));
        if (lines.size() == 1)
            lines.prepend(tr("<b>Example %1</b> · true class %2")
                              .arg(index)
                              .arg(run_->className(l->labels[std::size_t(row)]).toHtmlEscaped()));
    }
    if (index >= 0)
        lines << tr("Soft targets at the run's T = %1").arg(t, 0, 'g', 3);
    if (index >= 0 && !std::isnan(model_->kl(index)))
        lines << tr("KL(teacher ‖ student) at T = 1: %1").arg(QLocale().toString(model_->kl(index), 'f', 4));
    info_->setText(index < 0 ? tr("Select an example to see it here with its soft targets.")
                             : lines.join(QStringLiteral("<br>")));
    soft_->plot()->replot(QCustomPlot::rpQueuedReplot);
}
