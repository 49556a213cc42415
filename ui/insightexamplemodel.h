// The rows of Insight ▸ Examples: every test example of a run with its true
// class, the three models' predictions and KL(teacher ‖ student) at T = 1,
// filtered by the teacher × student quadrant, by fixed/broken (the student
// against the baseline), by true class and by a model's prediction, sorted by that KL or by index.
// The quadrants and fixed/broken are the index lists of analysis/summary.json;
// the pictures (or feature values) come from the data set, when loaded.
#pragma once

#include "insightdata.h"

#include <QAbstractTableModel>
#include <QImage>

#include <cstdint>
#include <vector>

struct ExampleFilter {
    // The teacher × student quadrant (TeacherComparison of the student), or -1.
    enum Quadrant { BothRight, TeacherOnly, StudentOnly, BothWrong };
    // The student against the baseline (BaselineComparison), or -1.
    enum Change { Fixed, Broken };
    enum Order { ByKl, ByIndex };
    int quadrant = -1;
    int change = -1;
    int trueClass = -1;
    Order order = ByKl;
    // Predicted `predicted` by the model `predictedBy` (InsightModel), or -1:
    // a confusion cell, with trueClass.
    int predictedBy = -1;
    int predicted = -1;
};

class InsightExampleModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Example, Input, True, Teacher, Baseline, Student, Kl, Columns };

    explicit InsightExampleModel(QObject *parent = nullptr);
    // `run` must outlive the model's use of it; null: no rows. Keeps the filter.
    void setRun(const InsightRun *run);
    void setFilter(const ExampleFilter &filter);
    const ExampleFilter &filter() const { return filter_; }
    // Whether the run has the quadrants (a student compared with the teacher)
    // and fixed/broken (a student compared with the baseline).
    bool hasQuadrants() const;
    bool hasChanges() const;

    // The pictures (or feature rows) of the test examples `indices`, as loaded
    // from the data set; empty vectors: none (the data set could not be read).
    void setInputs(const std::vector<std::int64_t> &indices, std::vector<QImage> images,
                   const std::vector<std::vector<float>> &features);
    QImage image(std::int64_t index) const;
    bool hasImages() const { return !images_.empty(); }
    QSize thumbnailSize() const { return thumbnail_; }

    // Every example of the run, in file order.
    std::vector<std::int64_t> examples() const;
    // The listed example indices, in order; the example of a listed row.
    const std::vector<std::int64_t> &listed() const { return listed_; }
    std::int64_t exampleAt(int row) const;
    int rowOfExample(std::int64_t index) const;
    // KL(teacher ‖ student) at T = 1 of an example (NaN without both logits).
    double kl(std::int64_t index) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        std::int64_t index = 0;
        std::int64_t label = -1;
        std::int64_t predicted[kInsightModels] = {-1, -1, -1};
        double kl = 0.0;
        qint8 quadrant = -1, change = -1;
    };
    void relist();
    QVariant prediction(const Row &r, int model, int role) const;

    const InsightRun *run_ = nullptr;
    ExampleFilter filter_;
    std::vector<Row> rows_;                 // every example, in file order
    std::vector<std::int64_t> rowOf_;       // example index → rows_ position, or -1
    std::vector<std::int64_t> listed_;      // example indices, filtered and sorted
    std::vector<QImage> images_;            // by example index; null: not loaded
    std::vector<QString> features_;         // by example index
    QSize thumbnail_;
};
