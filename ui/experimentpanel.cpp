#include "experimentpanel.h"

#include "distillery/architecture.h"
#include "distillery/methods.h"

#include "dataeditor.h"
#include "format.h"
#include "machineeditor.h"
#include "modeleditor.h"
#include "teachersdialog.h"
#include "traineditor.h"

#include "distillery/engine.h"

#include <QComboBox>
#include <QDropEvent>
#include <QFileInfo>
#include <QMimeData>
#include <QFileDialog>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollBar>
#include <QSpinBox>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>


using namespace distillery;

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
    distillation_ = new DistillationEditor;
    layout->addWidget(distillation_);
    machine_ = new MachineEditor;
    layout->addWidget(machine_);
    layout->addStretch();

    setWidget(content);
    content->installEventFilter(this); // its minimum width is this panel's
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    connect(data_, &DataEditor::changed, this, &ExperimentPanel::emitChanged);
    connect(machine_, &MachineEditor::changed, this, &ExperimentPanel::emitChanged);
    connect(distillation_, &DistillationEditor::changed, this, &ExperimentPanel::emitChanged);
    connect(distillation_->methodBox(), qOverload<int>(&QComboBox::currentIndexChanged), this,
            &ExperimentPanel::updateCompression);
    connect(data_, &DataEditor::loaded, this, [this] {
        teacher_->setDataShape(data_->summary().inputShape, data_->summary().classes);
        student_->setDataShape(data_->summary().inputShape, data_->summary().classes);
        teacherTrain_->setInputShape(data_->summary().inputShape);
        studentTrain_->setInputShape(data_->summary().inputShape);
        updateTaps();
        emitChanged();
        Q_EMIT dataLoaded();
    });
    // The compression and the feature pairs compare the two models.
    connect(teacher_, &ModelEditor::changed, this, [this] { updateCompression(); updateTaps(); emitChanged(); });
    connect(student_, &ModelEditor::changed, this, [this] { updateCompression(); updateTaps(); emitChanged(); });

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
    teachersButton_ = new QToolButton(box);
    teachersButton_->setObjectName(QStringLiteral("teachers"));
    teachersButton_->setText(tr("Teachers…"));
    teachersButton_->setToolTip(tr("Distil from several teachers at once: further teachers reused from runs or "
                                   "imported, and every teacher's weight"));
    sourceRow->addWidget(teachersButton_);
    teacherInput_ = new QComboBox(box);
    teacherInput_->addItem(tr("Raw input, as read (pixels in [0, 1]); the model normalises itself"), QStringLiteral("raw"));
    teacherInput_->addItem(tr("Normalised input, as the students see it"), QStringLiteral("normalised"));
    teacherInput_->setToolTip(tr("What the imported model's forward expects"));
    teacher_ = new ModelEditor(box);
    teacherTrain_ = new TrainEditor(tr("Training"), box);
    furtherTeachers_ = new QLabel(box);
    furtherTeachers_->setWordWrap(true);
    furtherTeachers_->setToolTip(tr("Further teachers listed in the experiment file (\"teachers\"): the student "
                                    "learns the weighted average of all the teachers' softened probabilities. "
                                    "Teachers… edits the list and the weights."));
    l->addLayout(sourceRow);
    l->addWidget(furtherTeachers_);
    l->addWidget(teacherInput_);
    l->addWidget(teacher_);
    l->addWidget(teacherTrain_);

    connect(teacherSource_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        updateTeacherSource();
        updateTaps();
        emitChanged();
    });
    connect(teacherLocation_, &QLineEdit::textChanged, this, [this] {
        locations_[teacherSource_->currentData().toString()] = teacherLocation_->text();
        emitChanged();
    });
    connect(teacherInput_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { emitChanged(); });
    connect(browse, &QToolButton::clicked, this, &ExperimentPanel::browseTeacher);
    connect(teachersButton_, &QToolButton::clicked, this, [this] {
        TeachersDialog d(experiment(), this);
        if (d.exec() == QDialog::Accepted)
            setFurtherTeachers(d.firstWeight(), d.teachers());
    });
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
    distillation_->setExperiment(e);
    showFurtherTeachers(e);
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
    distillation_->apply(e);
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
    if (const QString pairs = distillation_->pairingEditor()->problem(); !pairs.isEmpty())
        return tr("Distillation: %1").arg(pairs);
    return {};
}

void ExperimentPanel::updateTaps()
{
    if (!data_->isReady())
        return distillation_->pairingEditor()->setTaps({}, {});
    const distillery::Shape &input = data_->summary().inputShape;
    const int classes = data_->summary().classes;
    const auto taps = [&](const ModelSpec &spec) {
        try {
            return modelTaps(resolveModel(spec, classes), input);
        } catch (const ConfigError &) {
            return std::vector<Tap>{};
        }
    };
    // A reused or imported teacher's layers are not in this experiment.
    const bool trained = teacherSource_->currentData().toString() == QLatin1String("train");
    distillation_->pairingEditor()->setTaps(trained ? taps(teacher_->model()) : std::vector<Tap>{},
                                            taps(student_->model()));
}

void ExperimentPanel::setFurtherTeachers(double firstWeight, const std::vector<TeacherConfig> &teachers)
{
    base_.teacher.weight = firstWeight;
    base_.teachers = teachers;
    showFurtherTeachers(base_);
    emitChanged();
}

// Several teachers: the further ones, with every teacher's normalised weight.
void ExperimentPanel::showFurtherTeachers(const Experiment &e)
{
    furtherTeachers_->setVisible(!e.teachers.empty());
    if (e.teachers.empty())
        return furtherTeachers_->clear();
    const std::vector<double> w = teacherWeights(e);
    const int n = int(e.teachers.size());
    QStringList lines{(n == 1 ? tr("With 1 further teacher, averaged; this one's weight %1:")
                              : tr("With %1 further teachers, averaged; this one's weight %2:").arg(n))
                          .arg(w[0], 0, 'g', 3)};
    for (std::size_t i = 0; i < e.teachers.size(); ++i) {
        const TeacherConfig &t = e.teachers[i];
        const QString where = QString::fromStdString(t.source == "run" ? t.run : t.path);
        lines << tr("• %1 %2, weight %3").arg(QString::fromStdString(t.source), QFileInfo(where).fileName())
                     .arg(w[i + 1], 0, 'g', 3);
    }
    furtherTeachers_->setText(lines.join(QLatin1Char('\n')));
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
    // Deep mutual learning trains without a teacher: the section stays in the
    // file but is not used.
    const MethodInfo *m = findMethod(distillation_->methodBox()->currentData().toString().toStdString());
    const bool online = m && m->online;
    teacherBox_->setEnabled(!online);
    teacherBox_->setTitle(online ? tr("Teacher (not used: the students learn from each other)") : tr("Teacher"));
    if (online) {
        compression_->setText(tr("No teacher: %1 trains a cohort of students from scratch")
                                  .arg(QString::fromStdString(m->title)));
        return;
    }
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
    // With what the settings cannot do within the student's budget (they still run).
    const Experiment e = experiment();
    QString text = QString::fromStdString(teacherCacheChoice(e).reason);
    for (const auto &note : experimentNotes(e))
        text += tr("\nNote: %1.").arg(QString::fromStdString(note));
    distillation_->cacheReasonLabel()->setText(text);
}

void ExperimentPanel::setWorkspace(const QString &workspace)
{
    data_->setCacheDir(workspace.isEmpty() ? QString() : workspace + QStringLiteral("/cache"));
}

void ExperimentPanel::setRunning(bool running)
{
    widget()->setEnabled(!running);
}
