// Insight ▸ Classes: per class, the teacher's, baseline's and student's test
// accuracy, the gain from distillation (student − baseline, in points) and the
// examples the student fixed and broke against the baseline, as a sortable
// table and as grouped bars.
#pragma once

#include <QWidget>

class InsightPlot;
class QTableWidget;
struct InsightRun;

class InsightClasses : public QWidget {
    Q_OBJECT
public:
    enum Column { Class, Examples, Teacher, Baseline, Student, Gain, Fixed, Broken, ColumnCount };

    explicit InsightClasses(QWidget *parent = nullptr);
    void setRun(const InsightRun &run);

    QTableWidget *table() const { return table_; }
    InsightPlot *bars() const { return bars_; }

private:
    void fillTable(const InsightRun &run);
    void fillBars(const InsightRun &run);

    QTableWidget *table_;
    InsightPlot *bars_;
};
