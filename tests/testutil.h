// Small helpers shared by the test suites.
#pragma once

#include "distillery/engine.h"
#include "distillery/events.h"
#include "distillery/experiment.h"

#include <QByteArray>
#include <QFile>
#include <QString>

#include <mutex>
#include <vector>

namespace testutil {

inline void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    f.write(bytes);
}

inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// One layer of an architecture, for tables of test models (padding: kernel / 2).
inline distillery::LayerSpec layer(const std::string &type, std::int64_t out = 0, int kernel = 0, int stride = 0)
{
    distillery::LayerSpec l;
    l.type = type;
    l.out = out;
    l.kernel = kernel;
    l.stride = stride;
    return l;
}

// A quick experiment on synthetic vectors: seconds on 2 cores.
inline distillery::Experiment syntheticExperiment()
{
    distillery::Experiment e;
    e.name = "test";
    e.seed = 3;
    e.device = "cpu";
    e.logEverySteps = 5;
    e.data.source = "synthetic-vectors";
    e.data.syntheticTrain = 2000;
    e.data.syntheticTest = 500;
    e.data.syntheticClasses = 4;
    e.data.syntheticFeatures = 16;
    e.teacher.model.preset = "mlp";
    e.teacher.model.hidden = {64, 64};
    e.teacher.train.epochs = 3;
    e.teacher.train.batchSize = 64;
    e.teacher.train.optimizer = "adam";
    e.teacher.train.lr = 0.003;
    e.teacher.train.weightDecay = 0;
    e.student.preset = "mlp";
    e.student.hidden = {8};
    e.studentTrain.epochs = 3;
    e.studentTrain.batchSize = 64;
    e.studentTrain.lr = 0.05;
    return e;
}

// The pixel (y, x) of image `i` of a small IDX data set's training (or test)
// set whose label is `label`: a band of rows that says the class, over a
// pattern of the image's own; the first two pixels spell i, so that each
// image differs.
inline unsigned char idxPixel(bool test, int i, int y, int x, int label, int height, int classes)
{
    if (y == 0 && x < 2)
        return (unsigned char)(x == 0 ? i % 256 : (i / 256) % 256);
    const int band = y * classes / height;
    const int own = (i * 37 + y * 11 + x * 5 + (test ? 101 : 0)) % 96;
    return (unsigned char)(band == label ? 150 + own : own);
}

// Writes such a data set into `dir` (uncompressed IDX, as the `idx` source
// reads it): `train` and `test` images of height × width, label i % classes.
inline void writeIdxDataSet(const QString &dir, int train, int test, int height, int width, int classes)
{
    auto be32 = [](quint32 v) {
        QByteArray b(4, 0);
        for (int k = 0; k < 4; ++k)
            b[k] = char(v >> (24 - 8 * k));
        return b;
    };
    for (bool isTest : {false, true}) {
        const int n = isTest ? test : train;
        QByteArray images = QByteArray::fromHex("00000803") + be32(quint32(n)) + be32(quint32(height)) + be32(quint32(width));
        QByteArray labels = QByteArray::fromHex("00000801") + be32(quint32(n));
        for (int i = 0; i < n; ++i) {
            labels.append(char(i % classes));
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    images.append(char(idxPixel(isTest, i, y, x, i % classes, height, classes)));
        }
        const QString prefix = dir + (isTest ? QStringLiteral("/t10k-") : QStringLiteral("/train-"));
        writeFile(prefix + QStringLiteral("images-idx3-ubyte"), images);
        writeFile(prefix + QStringLiteral("labels-idx1-ubyte"), labels);
    }
}

// syntheticExperiment on 10×10 images, `cnn-small` teaching `cnn-small`:
// both models have maps and embeddings, so every method finds its taps.
inline distillery::Experiment convPairExperiment()
{
    distillery::Experiment e = syntheticExperiment();
    e.data.source = "synthetic-images";
    e.data.syntheticFeatures = 10;
    e.teacher.model = distillery::ModelSpec{};
    e.teacher.model.preset = "cnn-small";
    e.student = distillery::ModelSpec{};
    e.student.preset = "cnn-small";
    return e;
}

// Records every report, thread-safely.
struct Recorder : distillery::RunObserver {
    std::mutex mutex;
    std::vector<distillery::StageInfo> stages;
    std::vector<distillery::StepMetrics> steps;
    std::vector<distillery::EpochMetrics> epochs;
    std::vector<distillery::StageResult> results;
    std::vector<bool> pauses;
    std::vector<std::string> errors;
    std::vector<std::pair<std::int64_t, std::int64_t>> decoded; // data progress: (done, total)
    bool finished = false;

    void dataProgress(std::int64_t done, std::int64_t total) override { std::lock_guard<std::mutex> l(mutex); decoded.emplace_back(done, total); }

    void stageStarted(const distillery::StageInfo &s) override { std::lock_guard<std::mutex> l(mutex); stages.push_back(s); }
    void stepReported(const distillery::StepMetrics &s) override { std::lock_guard<std::mutex> l(mutex); steps.push_back(s); }
    void epochFinished(const distillery::EpochMetrics &e) override { std::lock_guard<std::mutex> l(mutex); epochs.push_back(e); }
    void stageFinished(const distillery::StageResult &r) override { std::lock_guard<std::mutex> l(mutex); results.push_back(r); }
    void pausedChanged(bool p) override { std::lock_guard<std::mutex> l(mutex); pauses.push_back(p); }
    void errorOccurred(const std::string &m) override { std::lock_guard<std::mutex> l(mutex); errors.push_back(m); }
    void runFinished(const distillery::RunResult &) override { std::lock_guard<std::mutex> l(mutex); finished = true; }

    std::size_t stepCount() { std::lock_guard<std::mutex> l(mutex); return steps.size(); }
    std::vector<bool> pauseEvents() { std::lock_guard<std::mutex> l(mutex); return pauses; }
};

// Runs `e` in `workspace` to its end (or its first error).
inline distillery::RunResult runExperiment(const distillery::Experiment &e, const QString &workspace, Recorder &rec)
{
    distillery::Engine engine(e, distillery::EngineOptions{workspace.toStdString()});
    return engine.run(rec);
}

// The report of `stage`'s epoch (the latest, where a resume repeated it), or null.
inline const distillery::EpochMetrics *epochOf(const Recorder &rec, distillery::StageKind stage, int epoch)
{
    for (auto it = rec.epochs.rbegin(); it != rec.epochs.rend(); ++it)
        if (it->stage == stage && it->epoch == epoch)
            return &*it;
    return nullptr;
}

inline const distillery::EpochMetrics *studentEpoch(const Recorder &rec, int epoch)
{
    return epochOf(rec, distillery::StageKind::Distillation, epoch);
}

// Asks its engine to stop after the student's first epoch.
struct StopAfterFirstStudentEpoch : Recorder {
    distillery::Engine *engine = nullptr;
    void epochFinished(const distillery::EpochMetrics &e) override
    {
        Recorder::epochFinished(e);
        if (e.stage == distillery::StageKind::Distillation && e.epoch == 1)
            engine->requestStop();
    }
};

// Runs `e` in `workspace`, stopped after the student's first epoch, then
// resumes that run into `resumed`. Returns the stopped run's result (its
// runDir is the folder both wrote); `resumed.finished` says whether the
// resume ran to its end.
inline distillery::RunResult stopAndResume(const distillery::Experiment &e, const QString &workspace, Recorder &resumed)
{
    StopAfterFirstStudentEpoch stopped;
    distillery::Engine first(e, distillery::EngineOptions{workspace.toStdString()});
    stopped.engine = &first;
    const distillery::RunResult r = first.run(stopped);
    if (r.status == distillery::RunStatus::Stopped) {
        distillery::Engine second(e, distillery::EngineOptions{workspace.toStdString(), r.runDir});
        second.run(resumed);
    }
    return r;
}

} // namespace testutil
