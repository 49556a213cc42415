#include "experimentpanel.h"

#include "dataeditor.h"
#include "format.h"
#include "machineeditor.h"
#include "modeleditor.h"
#include "traineditor.h"

#include "distillery/engine.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDropEvent>
#include <QFileInfo>
#include <QMimeData>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

using namespace distillery;

namespace {

// The temperature slider is logarithmic: 0.5 to 50.
int temperatureToSlider(double t) { return int(std::lround(std::log10(std::clamp(t, 0.5, 50.0) / 0.5) * 50)); }
double sliderToTemperature(int v) { return 0.5 * std::pow(10.0, v / 50.0); }

} // namespace

ExperimentPanel::ExperimentPanel(QWidget *parent) : QScrollArea(parent)
{
    // What the experiment is comes first, in the order of the work: the data,
    // the teacher, the student, and how one is distilled into the other. The
    // machine it runs on is a folded line at the end.
    auto *content = new QWidget(this);
    auto *layout = new QVBoxLayout(content);
    layout->setSpacing(4);
    layout->addLayout(makeNameRow());
    data_ = new DataEditor;
    layout->addWidget(data_);
    layout->addWidget(makeTeacherBox());
    layout->addWidget(makeStudentBox());
    layout->addWidget(makeDistillationBox());
    machine_ = new MachineEditor;
    layout->addWidget(machine_);
    layout->addStretch();

    setWidget(content);
    content->installEventFilter(this); // its minimum width is this panel's
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    connect(data_, &DataEditor::changed, this, &ExperimentPanel::emitChanged);
    connect(machine_, &MachineEditor::changed, this, &ExperimentPanel::emitChanged);
    connect(data_, &DataEditor::loaded, this, [this] {
        teacher_->setDataShape(data_->summary().inputShape, data_->summary().classes);
        student_->setDataShape(data_->summary().inputShape, data_->summary().classes);
        teacherTrain_->setInputShape(data_->summary().inputShape);
        studentTrain_->setInputShape(data_->summary().inputShape);
        emitChanged();
        Q_EMIT dataLoaded();
    });
    // The compression compares the two models.
    connect(teacher_, &ModelEditor::changed, this, [this] { updateCompression(); emitChanged(); });
    connect(student_, &ModelEditor::changed, this, [this] { updateCompression(); emitChanged(); });

    setExperiment(Experiment{});
}

bool ExperimentPanel::dataReady() const
{
    return data_->isReady();
}

const DatasetSummary &ExperimentPanel::dataSummary() const
{
    return data_->summary();
}

QHBoxLayout *ExperimentPanel::makeNameRow()
{
    auto *row = new QHBoxLayout;
    name_ = new QLineEdit;
    name_->setToolTip(tr("Names the experiment's runs and the window"));
    auto *label = new QLabel(tr("&Name"));
    label->setBuddy(name_);
    row->addWidget(label);
    row->addWidget(name_, 1);
    connect(name_, &QLineEdit::textChanged, this, [this] { emitChanged(); });
    return row;
}

QGroupBox *ExperimentPanel::makeTeacherBox()
{
    auto *box = new QGroupBox(tr("Teacher"));
    auto *l = new QVBoxLayout(box);
    l->setSpacing(2);
    auto *sourceRow = new QHBoxLayout;
    teacherSource_ = new QComboBox(box);
    teacherSource_->addItem(tr("Train a new teacher"), QStringLiteral("train"));
    teacherSource_->addItem(tr("Reuse the teacher of a run"), QStringLiteral("run"));
    teacherSource_->addItem(tr("Import a TorchScript file"), QStringLiteral("torchscript"));
    teacherSource_->setToolTip(tr("A TorchScript teacher is a model saved in PyTorch with torch.jit.save (scripted or "
                                  "traced). Its forward must take one batch tensor and return one logit per class. "
                                  "It is used in evaluation mode and never trained. Drop a .pt file here to import it."));
    teacherLocation_ = new QLineEdit(box);
    auto *browse = new QToolButton(box);
    browse->setText(tr("…"));
    teacherBrowse_ = browse;
    sourceRow->addWidget(teacherSource_);
    sourceRow->addWidget(teacherLocation_, 1);
    sourceRow->addWidget(browse);
    teacherInput_ = new QComboBox(box);
    teacherInput_->addItem(tr("Raw input, as read (pixels in [0, 1]); the model normalises itself"), QStringLiteral("raw"));
    teacherInput_->addItem(tr("Normalised input, as the students see it"), QStringLiteral("normalised"));
    teacherInput_->setToolTip(tr("What the imported model's forward expects"));
    teacher_ = new ModelEditor(box);
    teacherTrain_ = new TrainEditor(tr("Training"), box);
    l->addLayout(sourceRow);
    l->addWidget(teacherInput_);
    l->addWidget(teacher_);
    l->addWidget(teacherTrain_);

    connect(teacherSource_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateTeacherSource();
        emitChanged();
    });
    connect(teacherLocation_, &QLineEdit::textChanged, this, [this] {
        locations_[teacherSource_->currentData().toString()] = teacherLocation_->text();
        emitChanged();
    });
    connect(teacherInput_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { emitChanged(); });
    connect(browse, &QToolButton::clicked, this, &ExperimentPanel::browseTeacher);
    connect(teacherTrain_, &TrainEditor::changed, this, [this] { emitChanged(); });
    // A .pt file dropped on the teacher box imports it.
    box->setAcceptDrops(true);
    box->installEventFilter(this);
    teacherBox_ = box;
    return box;
}

void ExperimentPanel::browseTeacher()
{
    if (teacherSource_->currentData().toString() == QLatin1String("torchscript")) {
        const QString file = QFileDialog::getOpenFileName(this, tr("TorchScript teacher"), teacherLocation_->text(),
                                                          tr("TorchScript models (*.pt *.pth *.torchscript);;All files (*)"));
        if (!file.isEmpty())
            setTeacherFile(file);
        return;
    }
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Run whose teacher to reuse"), teacherLocation_->text());
    if (!dir.isEmpty()) {
        teacherSource_->setCurrentIndex(teacherSource_->findData(QStringLiteral("run")));
        teacherLocation_->setText(dir);
    }
}

QGroupBox *ExperimentPanel::makeStudentBox()
{
    auto *box = new QGroupBox(tr("Student"));
    auto *l = new QVBoxLayout(box);
    l->setSpacing(2);
    student_ = new ModelEditor(box);
    compression_ = new QLabel(box);
    compression_->setWordWrap(true);
    studentTrain_ = new TrainEditor(tr("Training"), box);
    studentTrain_->setToolTip(tr("The budget of both the baseline and the distilled student"));
    l->addWidget(student_);
    l->addWidget(compression_);
    l->addWidget(studentTrain_);
    connect(studentTrain_, &TrainEditor::changed, this, [this] { emitChanged(); });
    return box;
}

QGroupBox *ExperimentPanel::makeDistillationBox()
{
    auto *box = new QGroupBox(tr("Distillation"));
    distillationBox_ = box;
    auto *f = new QFormLayout(box);
    f->setVerticalSpacing(4);
    method_ = new QComboBox(box);
    method_->addItem(tr("Knowledge distillation (Hinton et al. 2015)"), QStringLiteral("kd"));
    method_->setToolTip(tr("How the student learns from the teacher"));
    const QString formula = tr("<p>loss = α·T²·KL(softmax(z<sub>t</sub>/T) ‖ softmax(z<sub>s</sub>/T)) + (1 − α)·CE(y, z<sub>s</sub>)</p>");
    temperature_ = new QDoubleSpinBox(box);
    temperature_->setRange(0.05, 100.0);
    temperature_->setDecimals(2);
    temperature_->setSingleStep(0.5);
    temperatureSlider_ = new QSlider(Qt::Horizontal, box);
    temperatureSlider_->setRange(0, 100);
    const QString tTip = formula + tr("<p><b>Temperature T</b> softens the teacher's probabilities: higher T shows "
                                      "more of how the teacher ranks the wrong classes (its \"dark knowledge\"). "
                                      "The T² factor keeps the soft term's gradients the same size as T changes.</p>");
    temperature_->setToolTip(tTip);
    temperatureSlider_->setToolTip(tTip);
    alpha_ = new QDoubleSpinBox(box);
    alpha_->setRange(0.0, 1.0);
    alpha_->setDecimals(2);
    alpha_->setSingleStep(0.05);
    alphaSlider_ = new QSlider(Qt::Horizontal, box);
    alphaSlider_->setRange(0, 100);
    const QString aTip = formula + tr("<p><b>α</b> weighs the soft (teacher) term against the hard labels: 0 trains "
                                      "on labels alone, 1 on the teacher alone.</p>");
    alpha_->setToolTip(aTip);
    alphaSlider_->setToolTip(aTip);
    auto pair = [](QSlider *s, QDoubleSpinBox *b) {
        QWidget::setTabOrder(s, b); // left to right, as they are shown
        auto *row = new QHBoxLayout;
        row->addWidget(s, 1);
        row->addWidget(b);
        return row;
    };
    baseline_ = new QCheckBox(tr("Baseline student"), box);
    baseline_->setToolTip(tr("Also train the student on the labels alone, with the same budget: without it nobody "
                             "can tell whether distillation helped"));
    teacherOutputs_ = new QComboBox(box);
    teacherOutputs_->addItem(tr("cached"), QStringLiteral("cached"));
    teacherOutputs_->addItem(tr("cached, approximate"), QStringLiteral("approximate"));
    teacherOutputs_->addItem(tr("per batch"), QStringLiteral("off"));
    teacherOutputs_->setToolTip(tr("<p><b>cached</b>: the frozen teacher's logits are computed once and reused every "
                                   "epoch; exact, and much faster, while the students' inputs are not augmented "
                                   "(else the teacher runs per batch).</p><p><b>cached, approximate</b>: computed "
                                   "once even then, for the unaugmented inputs: fast, but not the inputs the "
                                   "students see.</p><p><b>per batch</b>: the teacher runs on every batch.</p>"));
    cacheReason_ = new QLabel(box);
    cacheReason_->setWordWrap(true);
    cacheReason_->setForegroundRole(QPalette::PlaceholderText); // an explanation, quieter than the fields
    // Alt+M, Alt+T, Alt+W and Alt+O reach them from the keyboard.
    auto label = [box](const QString &text, QWidget *buddy) {
        auto *l = new QLabel(text, box);
        l->setBuddy(buddy);
        return l;
    };
    f->addRow(label(tr("&Method"), method_), method_);
    f->addRow(label(tr("&Temperature T"), temperature_), pair(temperatureSlider_, temperature_));
    f->addRow(label(tr("Soft &weight α"), alpha_), pair(alphaSlider_, alpha_));
    auto *checks = new QHBoxLayout;
    checks->addWidget(baseline_);
    checks->addStretch();
    checks->addWidget(label(tr("Teacher &outputs"), teacherOutputs_));
    checks->addWidget(teacherOutputs_);
    f->addRow(checks);
    f->addRow(cacheReason_);

    linkSliders();
    connect(baseline_, &QCheckBox::toggled, this, [this] { emitChanged(); });
    connect(teacherOutputs_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { emitChanged(); });
    connect(method_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { emitChanged(); });
    return box;
}

void ExperimentPanel::linkSliders()
{
    // Each slider and its spin box show the same value; the box holds it.
    connect(temperatureSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (temperatureToSlider(temperature_->value()) != v)
            temperature_->setValue(sliderToTemperature(v));
    });
    connect(temperature_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double t) {
        const QSignalBlocker block(temperatureSlider_);
        temperatureSlider_->setValue(temperatureToSlider(t));
        emitChanged();
    });
    connect(alphaSlider_, &QSlider::valueChanged, this, [this](int v) {
        if (int(std::lround(alpha_->value() * 100)) != v)
            alpha_->setValue(v / 100.0);
    });
    connect(alpha_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double a) {
        const QSignalBlocker block(alphaSlider_);
        alphaSlider_->setValue(int(std::lround(a * 100)));
        emitChanged();
    });
}

void ExperimentPanel::setExperiment(const Experiment &e)
{
    filling_ = true;
    base_ = e;
    name_->setText(QString::fromStdString(e.name));
    machine_->setExperiment(e);
    data_->setConfig(e.data);
    locations_.clear();
    locations_[QStringLiteral("run")] = QString::fromStdString(e.teacher.run);
    locations_[QStringLiteral("torchscript")] = QString::fromStdString(e.teacher.path);
    teacherSource_->setCurrentIndex(std::max(0, teacherSource_->findData(QString::fromStdString(e.teacher.source))));
    teacherInput_->setCurrentIndex(std::max(0, teacherInput_->findData(QString::fromStdString(e.teacher.input))));
    updateTeacherSource();
    if (!e.teacher.model.preset.empty() || !e.teacher.model.layers.empty())
        teacher_->setModel(e.teacher.model);
    teacherTrain_->setConfig(e.teacher.train);
    if (!e.student.preset.empty() || !e.student.layers.empty())
        student_->setModel(e.student);
    studentTrain_->setConfig(e.studentTrain);
    const QString method = QString::fromStdString(e.distillation.method);
    if (method_->findData(method) < 0)
        method_->addItem(method, method); // kept as loaded; the engine says if it knows it
    method_->setCurrentIndex(method_->findData(method));
    temperature_->setValue(e.distillation.temperature);
    alpha_->setValue(e.distillation.alpha);
    baseline_->setChecked(e.baseline);
    teacherOutputs_->setCurrentIndex(teacherOutputs_->findData(
        !e.distillation.teacherCache ? QStringLiteral("off")
                                     : e.distillation.approximateCache ? QStringLiteral("approximate")
                                                                       : QStringLiteral("cached")));
    filling_ = false;
    updateCacheReason();
    data_->reload();
}

Experiment ExperimentPanel::experiment() const
{
    Experiment e = base_;
    e.name = name_->text().trimmed().toStdString();
    machine_->apply(e);
    e.data = data_->config();
    e.teacher.source = teacherSource_->currentData().toString().toStdString();
    e.teacher.run = locations_.value(QStringLiteral("run")).trimmed().toStdString();
    e.teacher.path = locations_.value(QStringLiteral("torchscript")).trimmed().toStdString();
    e.teacher.input = teacherInput_->currentData().toString().toStdString();
    if (e.teacher.source != "run")
        e.teacher.run.clear();
    if (e.teacher.source != "torchscript")
        e.teacher.path.clear();
    if (e.teacher.source == "train") {
        e.teacher.model = teacher_->model();
        e.teacher.train = teacherTrain_->config();
    }
    e.student = student_->model();
    e.studentTrain = studentTrain_->config();
    e.distillation.method = method_->currentData().toString().toStdString();
    e.distillation.temperature = temperature_->value();
    e.distillation.alpha = alpha_->value();
    e.baseline = baseline_->isChecked();
    const QString outputs = teacherOutputs_->currentData().toString();
    e.distillation.teacherCache = outputs != QLatin1String("off");
    e.distillation.approximateCache = outputs == QLatin1String("approximate");
    return e;
}

QString ExperimentPanel::problem() const
{
    try {
        validateExperiment(experiment());
    } catch (const ConfigError &e) {
        return QString::fromUtf8(e.what());
    }
    if (!data_->problem().isEmpty())
        return tr("Data: %1").arg(data_->problem());
    if (!data_->isReady())
        return tr("Loading the data set…");
    if (teacherSource_->currentData().toString() == QLatin1String("train") && !teacher_->problem().isEmpty())
        return tr("Teacher: %1").arg(teacher_->problem());
    if (teacherSource_->currentData().toString() == QLatin1String("torchscript") &&
        !QFileInfo(teacherLocation_->text().trimmed()).isFile())
        return tr("Teacher: %1 not found").arg(teacherLocation_->text().trimmed());
    if (!student_->problem().isEmpty())
        return tr("Student: %1").arg(student_->problem());
    return {};
}

void ExperimentPanel::updateTeacherSource()
{
    const QString source = teacherSource_->currentData().toString();
    const bool train = source == QLatin1String("train");
    const bool imported = source == QLatin1String("torchscript");
    const bool wasFilling = filling_;
    filling_ = true; // the location shown changes; the experiment does not
    teacherLocation_->setText(locations_.value(source));
    filling_ = wasFilling;
    teacherLocation_->setVisible(!train); // a new teacher has no file or folder
    teacherBrowse_->setVisible(!train);
    teacherLocation_->setPlaceholderText(imported ? tr("TorchScript file (.pt), or drop one here")
                                                  : train ? QString() : tr("run folder"));
    teacherInput_->setVisible(imported);
    teacher_->setEnabled(train);
    teacher_->setVisible(!imported);
    teacherTrain_->setEnabled(train);
    teacherTrain_->setVisible(!imported);
    updateCompression();
}

void ExperimentPanel::setTeacherFile(const QString &path)
{
    locations_[QStringLiteral("torchscript")] = path;
    const int index = teacherSource_->findData(QStringLiteral("torchscript"));
    if (teacherSource_->currentIndex() != index)
        teacherSource_->setCurrentIndex(index); // shows the new location
    else
        teacherLocation_->setText(path);
    emitChanged();
}

QSize ExperimentPanel::minimumSizeHint() const
{
    const int width = widget()->minimumSizeHint().width() + verticalScrollBar()->sizeHint().width() + 2 * frameWidth();
    return {width, QScrollArea::minimumSizeHint().height()};
}

bool ExperimentPanel::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == teacherBox_ && (event->type() == QEvent::DragEnter || event->type() == QEvent::Drop)) {
        auto *drop = static_cast<QDropEvent *>(event);
        QString file;
        const auto urls = drop->mimeData()->urls();
        if (urls.size() == 1 && urls.first().isLocalFile())
            file = urls.first().toLocalFile();
        const QString suffix = QFileInfo(file).suffix().toLower();
        if (file.isEmpty() || (suffix != QLatin1String("pt") && suffix != QLatin1String("pth") &&
                               suffix != QLatin1String("torchscript")))
            return false;
        drop->acceptProposedAction();
        if (event->type() == QEvent::Drop)
            setTeacherFile(file);
        return true;
    }
    if (watched == widget() && event->type() == QEvent::LayoutRequest)
        updateGeometry(); // the fields' minimum width may have changed
    return QScrollArea::eventFilter(watched, event);
}

void ExperimentPanel::updateCompression()
{
    if (teacherSource_->currentData().toString() == QLatin1String("torchscript")) {
        compression_->setText(tr("Compression: shown when the run starts (the imported teacher's size is read then)"));
        return;
    }
    const auto &t = teacher_->report();
    const auto &s = student_->report();
    if (t.ok && s.ok && s.parameters > 0)
        compression_->setText(tr("Compression: %1× fewer parameters, %2× fewer multiply-adds")
                                  .arg(double(t.parameters) / double(s.parameters), 0, 'f', 1)
                                  .arg(s.multiplyAdds ? double(t.multiplyAdds) / double(s.multiplyAdds) : 0.0, 0, 'f', 1));
    else
        compression_->clear();
}

void ExperimentPanel::emitChanged()
{
    if (filling_)
        return;
    updateCacheReason(); // the students' augmentation or the choice may have changed
    Q_EMIT changed();
}

void ExperimentPanel::updateCacheReason()
{
    cacheReason_->setText(QString::fromStdString(teacherCacheChoice(experiment()).reason));
}

void ExperimentPanel::setWorkspace(const QString &workspace)
{
    data_->setCacheDir(workspace.isEmpty() ? QString() : workspace + QStringLiteral("/cache"));
}

void ExperimentPanel::setRunning(bool running)
{
    widget()->setEnabled(!running);
}
