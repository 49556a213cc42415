#include "sweepdata.h"

#include "distillery/runs.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonValue>

#include <algorithm>
#include <cmath>

using namespace distillery;

double SweepPointResult::value(SweepMeasure m) const
{
    if (!finished)
        return kNone;
    if (m == SweepMeasure::StudentAccuracy)
        return student;
    return std::isfinite(baseline) ? student - baseline : kNone;
}

namespace {

constexpr int kRunsLooked = 50; // the newest run folders, and the points of the newest sweep, looked at for the estimate

SweepPointResult readPoint(int point, const QString &dir)
{
    SweepPointResult r;
    r.point = point;
    r.runDir = dir;
    r.exists = QFileInfo::exists(dir + QStringLiteral("/config.json"));
    if (!r.exists)
        return r;
    const RunInfo info = readRunInfo(dir.toStdString());
    if (info.studentTestAccuracy >= 0 && info.status == RunStatus::Finished) {
        r.finished = true;
        r.student = info.studentTestAccuracy;
        if (info.baselineTestAccuracy >= 0)
            r.baseline = info.baselineTestAccuracy;
    }
    return r;
}

// A JSON number's value, or NaN.
double numberOf(const QString &json)
{
    bool ok = false;
    const double v = json.toDouble(&ok);
    return ok ? v : SweepPointResult::kNone;
}

} // namespace

std::vector<SweepPointResult> SweepResultCache::read(const SweepFolder &sweep)
{
    std::vector<SweepPointResult> out;
    out.reserve(sweep.plan.points.size());
    for (const SweepPoint &p : sweep.plan.points) {
        const QString dir = QString::fromStdString(sweep.runDir(p.index));
        const QFileInfo summary(dir + QStringLiteral("/summary.json"));
        if (!summary.exists()) { // not started, or starting: nothing worth keeping
            cache_.remove(dir);
            out.push_back(readPoint(p.index, dir));
            continue;
        }
        const auto it = cache_.constFind(dir);
        if (it != cache_.constEnd() && it->modified == summary.lastModified() && it->size == summary.size()) {
            out.push_back(it->result);
            continue;
        }
        ++reads_;
        Entry e{summary.lastModified(), summary.size(), readPoint(p.index, dir)};
        cache_.insert(dir, e);
        out.push_back(e.result);
    }
    return out;
}

QString sweepSetting(const SweepPoint &p, const QString &key)
{
    const std::string k = key.toStdString();
    for (const auto &[name, value] : p.settings)
        if (name == k)
            return QString::fromStdString(value);
    return {};
}

QString sweepValueText(const QString &json)
{
    const QJsonDocument d = QJsonDocument::fromJson((QLatin1Char('[') + json + QLatin1Char(']')).toUtf8());
    if (d.isArray() && d.array().size() == 1 && d.array().first().isString())
        return d.array().first().toString();
    return json;
}

QStringList sweepAxisValues(const SweepPlan &plan, const QString &key)
{
    if (key.isEmpty())
        return {QString()};
    QStringList values;
    for (const SweepPoint &p : plan.points) {
        const QString v = sweepSetting(p, key);
        if (!values.contains(v))
            values << v;
    }
    const bool numbers = std::all_of(values.begin(), values.end(), [](const QString &v) { return std::isfinite(numberOf(v)); });
    if (numbers)
        std::stable_sort(values.begin(), values.end(), [](const QString &a, const QString &b) { return numberOf(a) < numberOf(b); });
    return values;
}

namespace {

void summarise(SweepCell &c, const std::vector<SweepPointResult> &results, SweepMeasure m)
{
    std::vector<double> v;
    for (int p : c.points)
        if (const double x = results[std::size_t(p)].value(m); std::isfinite(x))
            v.push_back(x);
    c.counted = int(v.size());
    if (v.empty())
        return;
    double sum = 0;
    for (double x : v)
        sum += x;
    c.mean = sum / double(v.size());
    if (v.size() < 2)
        return;
    double squares = 0;
    for (double x : v)
        squares += (x - c.mean) * (x - c.mean);
    c.stddev = std::sqrt(squares / double(v.size() - 1));
}

} // namespace

SweepGrid sweepGrid(const SweepPlan &plan, const std::vector<SweepPointResult> &results, const QString &xKey,
                    const QString &yKey, SweepMeasure measure)
{
    SweepGrid g;
    g.xKey = xKey;
    g.yKey = yKey;
    g.xValues = sweepAxisValues(plan, xKey);
    g.yValues = sweepAxisValues(plan, yKey);
    g.cells.resize(std::size_t(g.columns() * g.rows()));
    for (const SweepPoint &p : plan.points) {
        const int x = int(g.xValues.indexOf(xKey.isEmpty() ? QString() : sweepSetting(p, xKey)));
        const int y = int(g.yValues.indexOf(yKey.isEmpty() ? QString() : sweepSetting(p, yKey)));
        if (x >= 0 && y >= 0 && std::size_t(p.index) < results.size())
            g.cells[std::size_t(y * g.columns() + x)].points.push_back(p.index);
    }
    for (std::size_t i = 0; i < g.cells.size(); ++i) {
        summarise(g.cells[i], results, measure);
        if (std::isfinite(g.cells[i].mean) && (g.best < 0 || g.cells[i].mean > g.cells[std::size_t(g.best)].mean))
            g.best = int(i);
    }
    return g;
}

int bestPointOfCell(const SweepCell &cell, const std::vector<SweepPointResult> &results, SweepMeasure measure)
{
    int best = -1;
    for (int p : cell.points) {
        const double v = results[std::size_t(p)].value(measure);
        if (std::isfinite(v) && (best < 0 || v > results[std::size_t(best)].value(measure)))
            best = p;
    }
    return best;
}

// The median of the seconds each point of the workspace's newest sweep took
// beyond its run's own: its log's last write after its point file (written as
// it starts), less the run's seconds. 0 without a sweep.
double pointOverheadSeconds(const QString &workspace)
{
    const std::vector<std::string> sweeps = listSweeps(workspace.toStdString());
    if (sweeps.empty())
        return 0;
    std::vector<double> seconds;
    try {
        const SweepFolder s = openSweepFolder(sweeps.front());
        for (int p = 0; p < std::min<int>(kRunsLooked, int(s.plan.points.size())); ++p) {
            const QFileInfo started(QString::fromStdString(s.pointFile(p))), ended(QString::fromStdString(s.logFile(p)));
            const RunInfo r = readRunInfo(s.runDir(p));
            if (started.exists() && ended.exists() && r.status == RunStatus::Finished)
                seconds.push_back(std::max(0.0, started.lastModified().msecsTo(ended.lastModified()) / 1000.0 - r.seconds));
        }
    } catch (const std::exception &) {
        return 0; // a damaged sweep: no figure
    }
    if (seconds.empty())
        return 0;
    std::nth_element(seconds.begin(), seconds.begin() + std::ptrdiff_t(seconds.size() / 2), seconds.end());
    return seconds[seconds.size() / 2];
}

SweepStageSeconds newestStageSeconds(const QString &workspace)
{
    SweepStageSeconds s;
    QDir runs(workspace + QStringLiteral("/runs"));
    const QStringList names = runs.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name | QDir::Reversed);
    for (int i = 0; i < std::min<int>(kRunsLooked, int(names.size())); ++i) {
        const std::string dir = runs.filePath(names[i]).toStdString();
        if (readRunInfo(dir).status != RunStatus::Finished)
            continue;
        for (const StageResult &r : readStageResults(dir))
            (r.kind == StageKind::Teacher ? s.teacher : r.kind == StageKind::Baseline ? s.baseline : s.student) = r.seconds;
        if (s.student < 0)
            continue;
        if (s.baseline < 0)
            s.baseline = s.student;
        s.teacher = std::max(0.0, s.teacher);
        s.run = names[i];
        s.perRun = pointOverheadSeconds(workspace);
        return s;
    }
    return SweepStageSeconds{};
}

