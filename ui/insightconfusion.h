// Insight ▸ Confusion: the confusion matrix of a model (rows the true class,
// columns the predicted one), or the student's minus the baseline's in
// diverging colours; clicking a cell lists its test examples with each
// model's prediction, and choosing one shows its soft targets.
#pragma once

#include "insightplot.h"

#include <QWidget>

#include <cstdint>

class QComboBox;
class QCPItemRect;
class QLabel;
class QPushButton;
class QTableWidget;
struct InsightRun;

class InsightConfusion : public QWidget {
    Q_OBJECT
public:
    enum Mode { Teacher, Baseline, Student, Difference };

    explicit InsightConfusion(QWidget *parent = nullptr);
    // `run` must outlive the view's use of it (the Insight view owns it).
    void setRun(const InsightRun *run);

    QComboBox *modelBox() const { return model_; }
    InsightPlot *heatmap() const { return plot_; }
    const insight::Heatmap &cells() const { return heat_; }
    QTableWidget *examples() const { return examples_; }
    QLabel *examplesCaption() const { return caption_; }
    // "Show in Examples": the listed cell in the example browser.
    QPushButton *browseButton() const { return browse_; }
    // The example indices listed, in order.
    QList<std::int64_t> listedExamples() const;
    static constexpr int kMaxListed = 2000;

public Q_SLOTS:
    void setMode(int mode);
    // Lists the examples of the true class `trueClass` predicted `predicted`
    // (what a click on that cell does).
    void showCell(int trueClass, int predicted);

Q_SIGNALS:
    void exampleChosen(qint64 index);
    void exampleOpened(qint64 index); // double-clicked: show its soft targets
    // The examples of true class `trueClass` predicted `predicted` by `model`
    // (InsightModel), for the example browser.
    void cellOpened(int model, int trueClass, int predicted);

private:
    void draw();

    const InsightRun *run_ = nullptr;
    QComboBox *model_;
    InsightPlot *plot_;
    insight::Heatmap heat_;
    QLabel *caption_;
    QTableWidget *examples_;
    QCPItemRect *marker_;
    QPushButton *browse_;
    int cellRow_ = -1, cellColumn_ = -1, cellMode_ = Student;
};
