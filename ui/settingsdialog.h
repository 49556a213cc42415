// Changes the distillation settings of the run in progress: T, α where the
// method uses it, and the method's weights, each shown with the value it has
// now. What changes takes effect at the distillation stage's next step, is
// recorded in the run and drawn as a marker on the plots.
#pragma once

#include "distillery/experiment.h"

#include <QDialog>
#include <QList>
#include <QString>

#include <utility>
#include <vector>

class QDoubleSpinBox;

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(const distillery::DistillConfig &settings, QWidget *parent = nullptr);

    // The settings whose value the user changed, by key, with the new value.
    std::vector<std::pair<QString, double>> changes() const;
    // The field of setting `key` ("temperature", "alpha", a parameter's key), or null.
    QDoubleSpinBox *field(const QString &key) const;

private:
    struct Field {
        QString key;
        double initial;
        QDoubleSpinBox *box;
    };
    QList<Field> fields_;
};
