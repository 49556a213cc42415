// The set-up of an experiment: data, teacher, student, distillation and
// training settings. Shows the data set's samples and the models' costs as the
// user edits, and says what (if anything) keeps the experiment from starting.
#pragma once

#include "distillationeditor.h"

#include "distillery/data.h"
#include "distillery/experiment.h"

#include <QHash>
#include <QScrollArea>

class DataEditor;
class MachineEditor;
class ModelEditor;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QSlider;
class QSpinBox;
class QToolButton;
class TrainEditor;

class ExperimentPanel : public QScrollArea {
    Q_OBJECT
public:
    explicit ExperimentPanel(QWidget *parent = nullptr);

    void setExperiment(const distillery::Experiment &e);
    distillery::Experiment experiment() const;
    // Why the experiment cannot start as it is; empty when it can.
    QString problem() const;
    // Whether the data set has been loaded and checked (for tests).
    bool dataReady() const;
    const distillery::DatasetSummary &dataSummary() const;

    // Widgets tests drive.
    QDoubleSpinBox *temperatureBox() const { return distillation_->temperatureBox(); }
    QDoubleSpinBox *alphaBox() const { return distillation_->alphaBox(); }
    QSlider *temperatureSlider() const { return distillation_->temperatureSlider(); }
    QSlider *alphaSlider() const { return distillation_->alphaSlider(); }
    ModelEditor *studentEditor() const { return student_; }
    ModelEditor *teacherEditor() const { return teacher_; }
    QComboBox *teacherSourceBox() const { return teacherSource_; }
    QLineEdit *teacherLocationEdit() const { return teacherLocation_; }
    QGroupBox *teacherBox() const { return teacherBox_; }
    // Several teachers: the further teachers of the experiment set, which the
    // panel keeps as they are; hidden when there are none.
    QLabel *furtherTeachersLabel() const { return furtherTeachers_; }
    QToolButton *teachersButton() const { return teachersButton_; }
    // What "Teachers…" sets when accepted: the Teacher section's weight and the further teachers.
    void setFurtherTeachers(double firstWeight, const std::vector<distillery::TeacherConfig> &teachers);
    QGroupBox *distillationBox() const { return distillation_; }
    // The method, its parameters, T, α, the baseline and the teacher's outputs.
    DistillationEditor *distillationEditor() const { return distillation_; }
    QComboBox *methodBox() const { return distillation_->methodBox(); }
    QLineEdit *nameEdit() const { return name_; }
    DataEditor *dataEditor() const { return data_; }
    TrainEditor *teacherTrainEditor() const { return teacherTrain_; }
    TrainEditor *studentTrainEditor() const { return studentTrain_; }
    // How the distillation stage gets the teacher's outputs, and why.
    QComboBox *teacherOutputsBox() const { return distillation_->teacherOutputsBox(); }
    QLabel *teacherCacheLabel() const { return distillation_->cacheReasonLabel(); }
    // Device, precision, threads and seed, folded to one line.
    MachineEditor *machineEditor() const { return machine_; }
    // While a run trains its settings are shown but not edited; the panel
    // still scrolls.
    void setRunning(bool running);
    // Imports a TorchScript teacher (what a drop on the teacher box does).
    void setTeacherFile(const QString &path);
    // The workspace of the window's runs: decoded image folders are cached
    // under it, where the engine looks for them.
    void setWorkspace(const QString &workspace);

    // As wide as the fields need beside the vertical scroll bar, so the dock
    // cannot be narrowed until they are cut at the right edge.
    QSize minimumSizeHint() const override;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

Q_SIGNALS:
    void changed();
    void dataLoaded();

private:
    // Each makes one part of the panel and connects its fields.
    QHBoxLayout *makeNameRow();
    QGroupBox *makeTeacherBox();
    QGroupBox *makeStudentBox();
    // Asks for the teacher's TorchScript file or run folder, by its source.
    void browseTeacher();
    void updateCompression();
    // The taps both models offer the feature methods' pairs (none until the data are known).
    void updateTaps();
    void updateTeacherSource();
    void showFurtherTeachers(const distillery::Experiment &e);
    // Says whether the teacher's outputs will be cached, exactly or not.
    void updateCacheReason();
    void emitChanged();

    // general
    QLineEdit *name_;
    MachineEditor *machine_;
    // data
    DataEditor *data_;
    // models
    QGroupBox *teacherBox_;
    QComboBox *teacherSource_;
    QLineEdit *teacherLocation_;        // the run folder or the TorchScript file
    QWidget *teacherBrowse_;
    QComboBox *teacherInput_;           // torchscript: raw or normalised input
    QLabel *furtherTeachers_;           // several teachers: the further ones (edited in TeachersDialog)
    QToolButton *teachersButton_;
    QHash<QString, QString> locations_; // per teacher source, so switching keeps both
    ModelEditor *teacher_;
    TrainEditor *teacherTrain_;
    ModelEditor *student_;
    TrainEditor *studentTrain_;
    QLabel *compression_;
    // distillation
    DistillationEditor *distillation_;

    distillery::Experiment base_;     // values without a widget are kept as loaded
    bool filling_ = false;
};
