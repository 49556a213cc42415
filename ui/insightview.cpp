#include "insightview.h"

#include "insightclasses.h"
#include "insightconfusion.h"
#include "insightcurves.h"
#include "insightdatamap.h"
#include "insightexamples.h"
#include "insightsoft.h"

#include <QDir>
#include <QLabel>
#include <QStackedWidget>
#include <QTabWidget>
#include <QVBoxLayout>

InsightView::InsightView(QWidget *parent)
    : QWidget(parent), run_(std::make_unique<InsightRun>()), stack_(new QStackedWidget(this)),
      message_(new QLabel(this)), caption_(new QLabel(this)), warning_(new QLabel(this)), tabs_(new QTabWidget(this)),
      classes_(new InsightClasses(this)), confusion_(new InsightConfusion(this)),
      examples_(new InsightExamples(this)), soft_(new InsightSoftTargets(this)),
      calibration_(new InsightCalibration(this)), fidelity_(new InsightFidelity(this)),
      dataMap_(new InsightDataMap(this))
{
    message_->setWordWrap(true);
    message_->setAlignment(Qt::AlignCenter);
    message_->setForegroundRole(QPalette::PlaceholderText);
    message_->setMargin(24);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warning_->setWordWrap(true);
    warning_->setStyleSheet(QStringLiteral("QLabel { color: #b71c1c; }"));
    warning_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    warning_->hide();
    tabs_->setDocumentMode(true);
    tabs_->addTab(classes_, tr("Classes"));
    tabs_->addTab(confusion_, tr("Confusion"));
    tabs_->addTab(examples_, tr("Examples"));
    tabs_->addTab(soft_, tr("Soft targets"));
    tabs_->addTab(calibration_, tr("Calibration"));
    tabs_->addTab(fidelity_, tr("Fidelity"));
    tabs_->addTab(dataMap_, tr("Data map"));
    tabs_->setTabToolTip(0, tr("Accuracy per class of the teacher, baseline and student; what distillation gained"));
    tabs_->setTabToolTip(1, tr("Confusion matrices; click a cell to list its examples"));
    tabs_->setTabToolTip(2, tr("The test examples with their pictures and predictions, by quadrant, fixed or broken, "
                               "class, or KL to the teacher"));
    tabs_->setTabToolTip(3, tr("One example's softmax(z/T) and the teacher's dark knowledge, at any temperature"));
    tabs_->setTabToolTip(4, tr("Reliability diagrams: is each model's confidence its accuracy?"));
    tabs_->setTabToolTip(5, tr("Per epoch: how closely the baseline and the student follow the teacher"));
    tabs_->setTabToolTip(6, tr("Each training example's confidence and variability over the epochs, without and "
                               "with the teacher: which examples the teacher made easy"));

    auto *figures = new QWidget(this);
    auto *layout = new QVBoxLayout(figures);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->setSpacing(2);
    layout->addWidget(caption_);
    layout->addWidget(warning_);
    layout->addWidget(tabs_, 1);
    stack_->addWidget(message_);
    stack_->addWidget(figures);
    auto *outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(stack_);

    // An example chosen in Confusion's list: its soft targets; double-click goes there.
    connect(confusion_, &InsightConfusion::exampleChosen, soft_, &InsightSoftTargets::setExample);
    connect(confusion_, &InsightConfusion::exampleOpened, this, [this](qint64 index) {
        soft_->setExample(index);
        tabs_->setCurrentWidget(soft_);
    });
    // A confusion cell's examples in the browser.
    connect(confusion_, &InsightConfusion::cellOpened, this, [this](int model, int trueClass, int predicted) {
        ExampleFilter f;
        f.trueClass = trueClass;
        f.predictedBy = model;
        f.predicted = predicted;
        examples_->setFilter(f);
        tabs_->setCurrentWidget(examples_);
    });
    // The same from the example browser.
    connect(examples_, &InsightExamples::exampleChosen, soft_, &InsightSoftTargets::setExample);
    connect(examples_, &InsightExamples::exampleOpened, this, [this](qint64 index) {
        soft_->setExample(index);
        tabs_->setCurrentWidget(soft_);
    });
    showMessage(tr("<p style='font-size:large'>Select a run in the Runs panel</p>"
                   "<p>Its analysis appears here: accuracy per class, confusion matrices, soft targets at any "
                   "temperature, calibration and fidelity to the teacher.</p>"));
}

InsightView::~InsightView() = default;

void InsightView::showRun(const QString &runDir)
{
    runDir_ = runDir;
    pending_ = true;
    if (isVisible())
        load();
}

void InsightView::showMessage(const QString &text)
{
    runDir_.clear();
    pending_ = false;
    *run_ = InsightRun();
    classes_->setRun(*run_);
    confusion_->setRun(nullptr);
    examples_->setRun(nullptr);
    soft_->setRun(nullptr);
    message_->setText(text);
    stack_->setCurrentWidget(message_);
}

bool InsightView::showsFigures() const
{
    return stack_->currentIndex() == 1;
}

void InsightView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    load();
}

void InsightView::addLiveEpoch(const QString &runDir, const distillery::EpochMetrics &e)
{
    if (!pending_ && runDir == runDir_ && run_->state == InsightRun::State::Ready)
        fidelity_->addEpoch(e);
}

void InsightView::load()
{
    if (!pending_)
        return;
    pending_ = false;
    if (runDir_.isEmpty())
        return;
    *run_ = loadInsightRun(runDir_);
    if (run_->state != InsightRun::State::Ready) {
        const bool error = run_->state == InsightRun::State::Error;
        message_->setText(QStringLiteral("<p style='font-size:large'>%1</p><p>%2</p>")
                              .arg(run_->message.toHtmlEscaped(), QDir::toNativeSeparators(runDir_).toHtmlEscaped()));
        message_->setForegroundRole(error ? QPalette::Text : QPalette::PlaceholderText);
        stack_->setCurrentWidget(message_);
        return;
    }
    const auto &s = run_->summary;
    caption_->setText(tr("<b>%1</b> · %2 classes · %3 test examples · T = %4")
                          .arg(run_->runName.toHtmlEscaped())
                          .arg(s.classes)
                          .arg(s.stages.empty() ? 0 : s.stages.front().examples)
                          .arg(s.temperature, 0, 'g', 3));
    caption_->setToolTip(QDir::toNativeSeparators(runDir_));
    warning_->setText(run_->logitsErrors.join(QLatin1Char('\n')));
    warning_->setVisible(!run_->logitsErrors.isEmpty());
    classes_->setRun(*run_);
    confusion_->setRun(run_.get());
    examples_->setRun(run_.get());
    soft_->setRun(run_.get());
    calibration_->setRun(*run_);
    fidelity_->setRun(*run_);
    dataMap_->setRun(*run_);
    stack_->setCurrentWidget(stack_->widget(1));
}
