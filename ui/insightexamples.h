// Insight ▸ Examples: a browser of the run's test examples, each with its
// picture (or first feature values), true class, the three models'
// predictions (wrong ones marked) and KL(teacher ‖ student) at T = 1;
// filtered by quadrant (teacher × student), by fixed/broken (the student
// against the baseline) and by true class, sorted by that KL or by index.
// The chosen example is shown large with its soft targets at the run's T.
// The data set is read from the run's config.json off the GUI thread, when
// the tab is first shown, and kept for the run; a data set that cannot be
// read is named, and the examples are still listed, without pictures.
#pragma once

#include "insightexamplemodel.h"

#include <QPointer>
#include <QWidget>

class InsightPlot;
class QCPBars;
class QComboBox;
class QLabel;
class QTableView;
class QToolButton;
class QThread;
struct InsightRun;

class InsightExamples : public QWidget {
    Q_OBJECT
public:
    explicit InsightExamples(QWidget *parent = nullptr);
    ~InsightExamples() override; // waits for a data set being read

    // `run` must outlive the view's use of it (the Insight view owns it).
    void setRun(const InsightRun *run);

    QComboBox *quadrantBox() const { return quadrant_; }
    QComboBox *changeBox() const { return change_; }
    QComboBox *classBox() const { return class_; }
    QComboBox *orderBox() const { return order_; }
    // Shown while the list is a confusion cell's (a model's prediction); a click clears it.
    QToolButton *cellButton() const { return cell_; }
    QTableView *list() const { return list_; }
    InsightExampleModel *model() const { return model_; }
    QLabel *countLabel() const { return count_; }
    QLabel *dataLabel() const { return data_; }
    QLabel *pictureLabel() const { return picture_; }
    InsightPlot *softPlot() const { return soft_; }
    // The data set's reading has ended for the shown run (pictures or an error).
    bool inputsLoaded() const;
    QString dataError() const { return inputs_.error; }

    // The combo boxes' choices as a filter, and the other way round.
    ExampleFilter filter() const;
    void setFilter(const ExampleFilter &filter);

public Q_SLOTS:
    // Selects example `index` when it is listed.
    void selectExample(qint64 index);

Q_SIGNALS:
    void exampleChosen(qint64 index);
    void exampleOpened(qint64 index); // double-clicked: show its soft targets

protected:
    void showEvent(QShowEvent *event) override;

private:
    // What was read of a run's data set, kept while the run is shown.
    struct Inputs {
        QString runDir;
        bool done = false;
        std::vector<std::int64_t> indices;
        std::vector<QImage> images;
        std::vector<std::vector<float>> features;
        QString error;
    };
    void startLoading();
    void loaded(int generation, Inputs inputs);
    QWidget *makeDetail();
    void fillFilters();
    void makeBars();
    void applyFilter();
    void showDetail(qint64 index);

    const InsightRun *run_ = nullptr;
    InsightExampleModel *model_;
    QComboBox *quadrant_, *change_, *class_, *order_;
    QToolButton *cell_;
    int predictedBy_ = -1, predicted_ = -1; // the cell's part of the filter
    QLabel *count_, *data_;
    QTableView *list_;
    QLabel *picture_, *info_;
    InsightPlot *soft_;
    std::vector<QCPBars *> bars_;
    Inputs inputs_;
    int generation_ = 0;
    QList<QPointer<QThread>> loaders_;
};
