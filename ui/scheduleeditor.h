// The schedules of the distillation settings (distillation.schedules): one
// row per scheduled setting (T, α, a method's weight) with its shape, the
// values it goes from and to, and the epochs it spans; folded to a line that
// says what is scheduled. A setting without a row keeps its fixed value.
#pragma once

#include "distillery/experiment.h"

#include <QWidget>

#include <map>
#include <string>

class FoldSection;
class QPushButton;
class QTableWidget;

class ScheduleEditor : public QWidget {
    Q_OBJECT
public:
    explicit ScheduleEditor(QWidget *parent = nullptr);

    // The settings a row may schedule are those of `config`'s method; rows
    // for settings it lacks are dropped.
    void setSettings(const distillery::DistillConfig &config);
    void setSchedules(const std::map<std::string, distillery::ValueSchedule> &schedules);
    std::map<std::string, distillery::ValueSchedule> schedules() const;

    QTableWidget *table() const { return table_; }
    QPushButton *addButton() const { return add_; }
    QPushButton *removeButton() const { return remove_; }
    FoldSection *section() const { return section_; }

Q_SIGNALS:
    void changed();

private:
    void addRow(const std::string &key, const distillery::ValueSchedule &s);
    void summarise();

    distillery::DistillConfig config_;
    FoldSection *section_;
    QTableWidget *table_;
    QPushButton *add_, *remove_;
    bool filling_ = false;
};
