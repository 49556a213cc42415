// How the student learns from the teacher: the method (distillery/methods.h
// lists them), its temperature and soft weight, a form of the method's own
// parameters rebuilt when the method changes, the baseline student, and how
// the teacher's outputs reach the students. The values of each method's
// parameters are kept while the editor lives, so switching to another method
// and back restores them; only the chosen method's are written.
#pragma once

#include "distillery/experiment.h"
#include "distillery/methods.h"
#include "pairingeditor.h"
#include "scheduleeditor.h"

#include <QGroupBox>
#include <QHash>

#include <map>
#include <string>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QHBoxLayout;
class QLabel;
class QSlider;
class QSpacerItem;
class QSpinBox;

class DistillationEditor : public QGroupBox {
    Q_OBJECT
public:
    explicit DistillationEditor(QWidget *parent = nullptr);

    // Fills the fields; forgets the parameters other methods had.
    void setExperiment(const distillery::Experiment &e);
    // Writes its fields into `e`: the chosen method's parameters, every one of
    // them; those of a method this build does not know are kept as loaded.
    void apply(distillery::Experiment &e) const;

    QComboBox *methodBox() const { return method_; }
    QDoubleSpinBox *temperatureBox() const { return temperature_; }
    QSlider *temperatureSlider() const { return temperatureSlider_; }
    QDoubleSpinBox *alphaBox() const { return alpha_; }
    QSlider *alphaSlider() const { return alphaSlider_; }
    QComboBox *teacherOutputsBox() const { return teacherOutputs_; }
    QSpinBox *generationsBox() const { return generations_; }
    QLabel *cacheReasonLabel() const { return cacheReason_; }
    // The feature methods' pairs of taps; shown for those methods only.
    PairingEditor *pairingEditor() const { return pairing_; }
    // Schedules of T, α and the method's weights over the student's epochs.
    ScheduleEditor *scheduleEditor() const { return schedules_; }
    // The field of the chosen method's parameter `key`: a QDoubleSpinBox, or a
    // QCheckBox for a switch; null when the method has no such parameter.
    QWidget *paramField(const QString &key) const;
    // The chosen method's parameter fields, in the order of the method's list.
    QList<QWidget *> paramFields() const;

Q_SIGNALS:
    void changed();

private:
    // The rows of T and α, their sliders linked to their spin boxes.
    void makeSoftening(QFormLayout *f);
    void linkSliders();
    // Shows the method's parameters with the values it had (else defaults),
    // after keeping those of the method shown until now.
    void showMethod(const QString &method);
    void clearParamFields();
    void addParamField(const distillery::MethodParam &p, double value);
    // Tab goes down the numbers after the method, and along the switches after T.
    void orderParamFields();
    // The numbers one width; α's row lined up with T's.
    void lineUpFields();
    std::map<std::string, double> shownParams() const;
    // The method's formula in the tooltips; α only for methods that use it.
    void describeMethod();

    QComboBox *method_;
    QFormLayout *form_;
    QHBoxLayout *temperatureRow_;
    QHBoxLayout *switches_;     // on the temperature row: switches cost no row
    QHBoxLayout *alphaRow_;
    QSpacerItem *alphaPad_;     // on α's row, as wide as the switches
    QDoubleSpinBox *temperature_;
    QSlider *temperatureSlider_;
    QDoubleSpinBox *alpha_;
    QSlider *alphaSlider_;
    QLabel *alphaLabel_;
    QCheckBox *baseline_;
    QComboBox *teacherOutputs_; // cached | cached, approximate | per batch
    QSpinBox *generations_;      // born-again generations
    QLabel *cacheReason_;
    PairingEditor *pairing_;
    ScheduleEditor *schedules_;

    QString shown_;                                      // the method whose fields are shown
    QList<std::pair<std::string, QWidget *>> fields_;    // its parameters' fields, by key
    QHash<QString, std::map<std::string, double>> kept_; // the other methods' values
};
