// Insight: what a trained model does on the test set, and how it relates to
// the teacher and the baseline, from logits and labels alone (plain C++, no
// LibTorch, so the report tool and the window can use it). The engine writes
// a run's analysis/ folder with it at the end of each stage; docs/INSIGHT.md
// defines each figure and the files.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace distillery {

// A damaged, missing or inconsistent analysis file. The message names the file.
class AnalysisError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr int kCalibrationBins = 15;   // Guo et al. (2017)

// Logits of `rows` examples over `classes` classes, row-major, not owned.
struct LogitsView {
    const float *data = nullptr;
    std::int64_t rows = 0;
    std::int64_t classes = 0;
    const float *row(std::int64_t i) const { return data + i * classes; }
};

// analysis/<stage>.logits: a model's logits on the test set with the labels.
struct AnalysisLogits {
    std::int64_t rows = 0;
    std::int64_t classes = 0;
    std::vector<std::int64_t> indices;  // each row's example in the test split
    std::vector<std::int64_t> labels;   // each row's true class, in [0, classes)
    std::vector<float> logits;          // rows × classes, row-major
    LogitsView view() const { return {logits.data(), rows, classes}; }
};

// Writes the file atomically (a temporary file renamed over it). Throws
// std::runtime_error naming the file when it cannot be written.
void writeAnalysisLogits(const std::string &path, const AnalysisLogits &logits);
// Reads the file, checking its sizes against the header before allocating.
// Throws AnalysisError naming the file when it is missing or damaged.
AnalysisLogits readAnalysisLogits(const std::string &path);

// ---- Figures (all in double precision; softmax(z / T) per row) ----

// Each row's argmax (the first of equal maxima).
std::vector<std::int64_t> predictions(LogitsView z);
// Fraction of rows whose argmax agrees; NaN for no rows.
double agreement(LogitsView a, LogitsView b);
// Mean over rows of KL(softmax(t/T) ‖ softmax(m/T)); NaN for no rows.
double meanKl(LogitsView teacher, LogitsView model, double temperature = 1.0);

struct CalibrationBin {
    double lower = 0.0, upper = 0.0;    // the bin holds confidences in (lower, upper]
    std::int64_t count = 0;
    double accuracy = std::numeric_limits<double>::quiet_NaN();   // NaN when empty
    double confidence = std::numeric_limits<double>::quiet_NaN(); // mean max probability
};
struct Calibration {
    double ece = std::numeric_limits<double>::quiet_NaN();  // Σ |bin|/N · |acc − conf|
    std::vector<CalibrationBin> bins;
};
// Expected calibration error on equal-width confidence bins (confidence: the
// largest softmax probability at T = 1). NaN for no rows.
Calibration calibration(LogitsView z, const std::int64_t *labels, int bins = kCalibrationBins);

// Mean negative log-likelihood of the true class, and the Brier score (mean
// over rows of Σ_k (p_k − onehot_k)²), at T = 1.
double meanNll(LogitsView z, const std::int64_t *labels);
double brierScore(LogitsView z, const std::int64_t *labels);

// For each true class, the mean of softmax(z / T) over its rows: a
// classes × classes matrix whose rows sum to 1 (NaN rows for absent classes).
std::vector<std::vector<double>> darkKnowledge(LogitsView z, const std::int64_t *labels, double temperature);

// ---- One stage's analysis ----

struct ExampleSet {
    std::int64_t count = 0;
    std::vector<std::int64_t> perClass;    // by true class
    std::vector<std::int64_t> indices;     // example indices (AnalysisLogits::indices)
};

// The model against the teacher, on the same examples.
struct TeacherComparison {
    double agreement = 0.0;
    double kl = 0.0;                        // mean KL(teacher ‖ model) at T = 1
    std::vector<double> agreementPerClass;  // by true class; NaN for absent classes
    std::vector<double> klPerClass;
    ExampleSet bothRight, teacherOnly, modelOnly, bothWrong;
};

// The distilled student against the baseline.
struct BaselineComparison {
    ExampleSet fixed;                       // baseline wrong, student right
    ExampleSet broken;                      // baseline right, student wrong
};

struct Latency {
    double medianMs = std::numeric_limits<double>::quiet_NaN(); // batch of 1
    int passes = 0;                         // timed forward passes (after warm-up)
    int threads = 0;
    std::string device;                     // "cpu"; elsewhere not measured
};

struct StageAnalysis {
    std::string stage;                      // "teacher" | "baseline" | "student"
    std::int64_t examples = 0;
    std::int64_t classes = 0;
    double accuracy = 0.0, nll = 0.0, brier = 0.0;
    std::vector<double> perClassAccuracy;   // NaN for classes without examples
    std::vector<std::int64_t> classCounts;
    std::vector<std::vector<std::int64_t>> confusion;  // rows: true class, columns: predicted
    Calibration calibration;
    std::optional<TeacherComparison> teacher;
    std::optional<BaselineComparison> baseline;
    std::int64_t parameters = 0;
    std::int64_t multiplyAdds = 0;
    Latency latency;
    double seconds = 0.0;                   // the analysis's own time
    std::string logitsFile;                 // relative to analysis/
};

// The figures of `model` on its labels, against `teacher` and `baseline` when
// given (same rows and labels, else AnalysisError).
StageAnalysis analyseLogits(const AnalysisLogits &model, const AnalysisLogits *teacher = nullptr,
                            const AnalysisLogits *baseline = nullptr);

// ---- Training dynamics and the data map (dataset cartography) ----

// analysis/<stage>.dynamics: for each example of the stage's training split,
// at each epoch, the probability the model gave its true class (softmax at
// T = 1) and whether its argmax was that class, taken from the training
// step's own forward pass (Swayamdipta et al. 2020). An example not trained
// on in an epoch (a last batch of one is dropped) has NaN and kUnseen.
struct TrainingDynamics {
    static constexpr std::uint8_t kUnseen = 255;
    std::int64_t rows = 0;                 // N examples
    std::int64_t epochs = 0;               // E epochs recorded
    std::vector<std::int64_t> trainRows;   // each example's row in the training split (after validation)
    std::vector<std::int64_t> labels;      // each example's true class
    std::vector<float> probability;        // E × N, epoch-major
    std::vector<std::uint8_t> correct;     // E × N: 1 right, 0 wrong, kUnseen
};

// Written atomically; throws std::runtime_error naming the file.
void writeTrainingDynamics(const std::string &path, const TrainingDynamics &d);
// Throws AnalysisError naming the file when it is missing or damaged.
TrainingDynamics readTrainingDynamics(const std::string &path);

// Per example, over the epochs it was trained in: confidence, the mean of
// the probability of its true class; variability, their standard deviation
// (population, as numpy.std); correctness, the fraction of those epochs its
// argmax was right. NaN for an example never seen.
struct DataMap {
    std::vector<double> confidence, variability, correctness;
    std::int64_t size() const { return std::int64_t(confidence.size()); }
};
DataMap dataMap(const TrainingDynamics &d);

// ---- analysis/summary.json ----

struct AnalysisSummary {
    int version = 1;
    double temperature = 1.0;               // the run's distillation temperature
    std::int64_t classes = 0;
    std::vector<std::string> classNames;
    std::vector<StageAnalysis> stages;      // in pipeline order
    const StageAnalysis *stage(const std::string &name) const;
};

std::string analysisSummaryJson(const AnalysisSummary &s);
// <runDir>/analysis/summary.json. Throws AnalysisError naming the file when it
// is missing or damaged.
AnalysisSummary readAnalysisSummary(const std::string &runDir);
// Replaces (or adds) `stage` in <runDir>/analysis/summary.json, keeping the
// stages already there; written atomically.
void recordStageAnalysis(const std::string &runDir, const AnalysisSummary &header, const StageAnalysis &stage);

} // namespace distillery
