#include "insightdata.h"

#include "distillery/data.h"
#include "distillery/experiment.h"

#include <QDir>
#include <QFileInfo>
#include <QObject>

#include <algorithm>
#include <cmath>
#include <exception>

using namespace distillery;

QString modelTitle(InsightModel m)
{
    switch (m) {
    case InsightModel::Teacher: return QObject::tr("teacher");
    case InsightModel::Baseline: return QObject::tr("baseline");
    case InsightModel::Student: return QObject::tr("student");
    }
    return {};
}

const char *modelStageName(InsightModel m)
{
    static const char *names[] = {"teacher", "baseline", "student"};
    return names[int(m)];
}

QString InsightRun::className(std::int64_t k) const
{
    const QString number = QString::number(k);
    if (k >= 0 && std::size_t(k) < summary.classNames.size() && !summary.classNames[std::size_t(k)].empty()) {
        const QString name = QString::fromStdString(summary.classNames[std::size_t(k)]);
        // "class 3" or "3" already say the number.
        return name.endsWith(number) ? name : number + QLatin1Char(' ') + name;
    }
    return number;
}

const StageAnalysis *InsightRun::stage(InsightModel m) const
{
    return summary.stage(modelStageName(m));
}

const AnalysisLogits *InsightRun::logitsOf(InsightModel m) const
{
    const auto &l = logits[std::size_t(m)];
    return l ? &*l : nullptr;
}

std::int64_t InsightRun::rowOf(InsightModel m, std::int64_t index) const
{
    const AnalysisLogits *l = logitsOf(m);
    if (!l)
        return -1;
    if (index >= 0 && index < l->rows && l->indices[std::size_t(index)] == index)
        return index; // the usual case: rows in index order
    const auto it = std::find(l->indices.begin(), l->indices.end(), index);
    return it == l->indices.end() ? -1 : std::int64_t(it - l->indices.begin());
}

namespace {

// Each stage's logits file, as the summary names it; a stage the summary
// lists whose file cannot be read is said, naming the file.
void readLogits(InsightRun &run)
{
    const QString folder = run.runDir + QStringLiteral("/analysis/");
    for (int m = 0; m < kInsightModels; ++m) {
        const StageAnalysis *s = run.stage(InsightModel(m));
        if (!s)
            continue;
        const std::string file = s->logitsFile.empty() ? std::string(modelStageName(InsightModel(m))) + ".logits"
                                                       : s->logitsFile;
        try {
            AnalysisLogits l = readAnalysisLogits((folder + QString::fromStdString(file)).toStdString());
            if (l.classes != run.summary.classes)
                throw AnalysisError(folder.toStdString() + file + ": " + std::to_string(l.classes) +
                                    " classes, the summary says " + std::to_string(run.summary.classes));
            // The views index by example: each must be one of the summary's test examples.
            for (const std::int64_t index : l.indices)
                if (index < 0 || index >= std::max(s->examples, l.rows))
                    throw AnalysisError(folder.toStdString() + file + ": damaged (an example index " +
                                        std::to_string(index) + " outside the " + std::to_string(s->examples) +
                                        " test examples)");
            run.predicted[std::size_t(m)] = predictions(l.view());
            run.logits[std::size_t(m)] = std::move(l);
        } catch (const std::exception &e) {
            run.logitsErrors << QString::fromUtf8(e.what());
        }
    }
}

} // namespace

InsightRun loadInsightRun(const QString &runDir)
{
    InsightRun run;
    run.runDir = runDir;
    run.runName = QFileInfo(runDir).fileName();
    if (runDir.isEmpty())
        return run;
    const QString summaryPath = runDir + QStringLiteral("/analysis/summary.json");
    if (!QFileInfo::exists(summaryPath)) {
        run.state = InsightRun::State::NoAnalysis;
        const RunInfo info = readRunInfo(runDir.toStdString());
        if (info.status == RunStatus::Running && info.ownerPid != 0)
            run.message = QObject::tr("No analysis yet: each stage's analysis appears here when the stage finishes.");
        else if (info.teacherTestAccuracy < 0)
            run.message = QObject::tr("No analysis in this run: it ended before its first stage finished.");
        else
            run.message = QObject::tr("No analysis in this run: it was made before Distillery analysed its models "
                                      "(no analysis/ folder). Re-run it to see its analysis here; distillery-report "
                                      "prints the tables of runs that have one.");
        return run;
    }
    try {
        run.summary = readAnalysisSummary(runDir.toStdString());
    } catch (const std::exception &e) {
        run.state = InsightRun::State::Error;
        run.message = QObject::tr("Cannot read the analysis of this run: %1").arg(QString::fromUtf8(e.what()));
        return run;
    }
    readLogits(run);
    try {
        run.metrics = readRunMetrics(runDir.toStdString());
    } catch (const std::exception &e) {
        run.logitsErrors << QString::fromUtf8(e.what());
    }
    run.state = InsightRun::State::Ready;
    return run;
}

std::vector<std::int64_t> examplesInCell(const InsightRun &run, InsightModel m, int trueClass, int predicted)
{
    std::vector<std::int64_t> out;
    const AnalysisLogits *l = run.logitsOf(m);
    if (!l)
        return out;
    const auto &pred = run.predicted[std::size_t(m)];
    for (std::size_t r = 0; r < std::size_t(l->rows); ++r)
        if (l->labels[r] == trueClass && pred[r] == predicted)
            out.push_back(l->indices[r]);
    return out;
}

std::vector<double> softmaxAt(const float *z, std::int64_t classes, double temperature)
{
    std::vector<double> p(std::size_t(std::max<std::int64_t>(classes, 0)));
    if (p.empty())
        return p;
    double top = z[0];
    for (std::int64_t k = 1; k < classes; ++k)
        top = std::max(top, double(z[k]));
    double sum = 0.0;
    for (std::int64_t k = 0; k < classes; ++k)
        sum += p[std::size_t(k)] = std::exp((double(z[k]) - top) / temperature);
    for (double &v : p)
        v /= sum;
    return p;
}

namespace {

QImage toImage(const SampleImage &s)
{
    const QImage::Format format = s.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
    if (s.channels != 1 && s.channels != 3)
        return {};
    return QImage(s.pixels.data(), s.width, s.height, s.width * s.channels, format).copy();
}

// The workspace's cache of decoded image folders (<workspace>/cache), where
// the engine put it for the run <workspace>/runs/<run>; empty elsewhere.
QString cacheDirOf(const QString &runDir)
{
    QDir runs = QFileInfo(runDir).absoluteDir();
    if (runs.dirName() != QStringLiteral("runs") || !runs.cdUp())
        return {};
    return runs.absoluteFilePath(QStringLiteral("cache"));
}

} // namespace

RunExamples readRunExamples(const QString &runDir, const char *split, const std::vector<std::int64_t> &rows)
{
    RunExamples out;
    try {
        const Experiment e = loadExperiment((runDir + QStringLiteral("/config.json")).toStdString());
        DataLoadOptions options;
        options.cacheDir = cacheDirOf(runDir).toStdString();
        DatasetExamples ex = datasetExamples(e.data, split, rows, options);
        out.rows = std::move(ex.rows);
        out.features = std::move(ex.features);
        for (const SampleImage &s : ex.images)
            out.images.push_back(toImage(s));
    } catch (const std::exception &e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}
