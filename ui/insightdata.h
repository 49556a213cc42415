// What the Insight views show of one run, read from its folder only: the
// analysis/summary.json figures, the stages' test logits (analysis/<stage>.logits)
// and the fidelity of each epoch (metrics.jsonl). docs/INSIGHT.md defines the
// files and the figures; the readers are in distillery/analysis.h.
#pragma once

#include "distillery/analysis.h"
#include "distillery/runs.h"

#include <QImage>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>
#include <vector>

// The three models in pipeline order; index 0 teacher, 1 baseline, 2 student.
enum class InsightModel { Teacher = 0, Baseline = 1, Student = 2 };
constexpr int kInsightModels = 3;

struct InsightRun {
    enum class State {
        None,        // no run chosen
        NoAnalysis,  // the run has no analysis/summary.json
        Error,       // a file could not be read; `message` names it
        Ready,
    };
    State state = State::None;
    QString message;            // why not Ready, for the view to say
    QString runDir;
    QString runName;
    distillery::AnalysisSummary summary;
    std::array<std::optional<distillery::AnalysisLogits>, kInsightModels> logits;
    std::array<std::vector<std::int64_t>, kInsightModels> predicted; // argmax of each row
    QStringList logitsErrors;   // logits files that could not be read, each naming its file
    distillery::RunMetrics metrics;

    int classes() const { return int(summary.classes); }
    // "3 Dress"; "3" or "class 3" when the data name classes by number.
    QString className(std::int64_t k) const;
    const distillery::StageAnalysis *stage(InsightModel m) const;
    const distillery::AnalysisLogits *logitsOf(InsightModel m) const;
    // The logits row of test example `index`, or -1.
    std::int64_t rowOf(InsightModel m, std::int64_t index) const;
};

// Reads the run folder's analysis and metrics. Never throws: a missing
// analysis/ or a damaged summary is said in the result's state and message.
InsightRun loadInsightRun(const QString &runDir);

QString modelTitle(InsightModel m);
const char *modelStageName(InsightModel m);

// The example indices (AnalysisLogits::indices) whose true class is
// `trueClass` and whose prediction by `m` is `predicted`, in file order.
std::vector<std::int64_t> examplesInCell(const InsightRun &run, InsightModel m, int trueClass, int predicted);

// softmax(z / T) of one row of logits, in double precision.
std::vector<double> softmaxAt(const float *z, std::int64_t classes, double temperature);

// The inputs of `rows` of a run's data set split ("test", or "train": rows of
// the training split after the validation split), read as the run read them
// (its config.json, the workspace's cache of decoded folders): pictures, or
// feature rows for vector data. Slow (the data set is loaded): call it off the
// GUI thread. Never throws: what went wrong is in `error`, naming the file.
struct RunExamples {
    std::vector<std::int64_t> rows;
    std::vector<QImage> images;
    std::vector<std::vector<float>> features;
    QString error;
};
RunExamples readRunExamples(const QString &runDir, const char *split, const std::vector<std::int64_t> &rows);
