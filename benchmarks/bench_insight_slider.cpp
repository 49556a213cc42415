// What a move of Insight ▸ Soft targets' temperature slider costs
// (docs/INSIGHT.md, docs/PERFORMANCE.md): the real InsightView on a generated
// run folder (teacher, baseline and student logits files and their
// summary.json), the slider moved through many temperatures, each move timed
// until both figures (the soft-target bars and the dark-knowledge matrix) are
// redrawn (QCustomPlot::replot(rpImmediateRefresh), as the test does). Prints
// figures, judges nothing.
//
//   QT_QPA_PLATFORM=offscreen build/benchmarks/bench_insight_slider [--test 10000] [--classes 10,100] [--moves 200]
#include "insightsoft.h"
#include "insightview.h"

#include "distillery/analysis.h"

#include <qcustomplot.h>

#include <CLI/CLI.hpp>

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QSlider>
#include <QTabWidget>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <random>

using namespace distillery;

namespace {

// Logits that lean towards the true class by `skill` (in units of the noise).
AnalysisLogits makeLogits(const std::vector<std::int64_t> &labels, std::int64_t k, float skill, std::mt19937 &rng)
{
    std::normal_distribution<float> z(0.0f, 2.0f);
    AnalysisLogits a;
    a.rows = std::int64_t(labels.size());
    a.classes = k;
    a.labels = labels;
    a.logits.resize(std::size_t(a.rows * k));
    for (std::int64_t i = 0; i < a.rows; ++i) {
        a.indices.push_back(i);
        for (std::int64_t j = 0; j < k; ++j)
            a.logits[std::size_t(i * k + j)] = z(rng) + (j == labels[std::size_t(i)] ? 2.0f * skill : 0.0f);
    }
    return a;
}

// A run folder with analysis/ as the engine writes it: the three logits
// files and summary.json.
void writeRun(const std::string &dir, std::int64_t n, std::int64_t k)
{
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::int64_t> y(0, k - 1);
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    for (auto &l : labels)
        l = y(rng);
    const AnalysisLogits teacher = makeLogits(labels, k, 2.0f, rng), baseline = makeLogits(labels, k, 1.2f, rng),
                         student = makeLogits(labels, k, 1.5f, rng);
    AnalysisSummary header;
    header.temperature = 4.0;
    header.classes = k;
    for (std::int64_t c = 0; c < k; ++c)
        header.classNames.push_back("class " + std::to_string(c));
    const struct {
        const char *name;
        const AnalysisLogits &logits;
        const AnalysisLogits *teacher, *baseline;
    } stages[] = {{"teacher", teacher, nullptr, nullptr},
                  {"baseline", baseline, &teacher, nullptr},
                  {"student", student, &teacher, &baseline}};
    for (const auto &s : stages) {
        const std::string file = std::string(s.name) + ".logits";
        writeAnalysisLogits(dir + "/analysis/" + file, s.logits);
        StageAnalysis a = analyseLogits(s.logits, s.teacher, s.baseline);
        a.stage = s.name;
        a.logitsFile = file;
        recordStageAnalysis(dir, header, a);
    }
}

struct Times {
    double median = 0, p95 = 0, max = 0;
};

Times summarise(std::vector<double> ms)
{
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, std::size_t(double(ms.size()) * 0.95))], ms.back()};
}

// Moves the slider `moves` times over its range; each move's time until both
// figures are redrawn, and the dark-knowledge matrix's share of it.
void bench(std::int64_t n, std::int64_t k, int moves)
{
    QTemporaryDir dir;
    QDir(dir.path()).mkpath(QStringLiteral("analysis"));
    writeRun(dir.path().toStdString(), n, k);
    InsightView view;
    view.resize(1400, 800);
    view.show();
    view.showRun(dir.path());
    view.load();
    if (!view.showsFigures()) {
        std::printf("%lld classes: the view shows no figures\n", (long long)k);
        return;
    }
    InsightSoftTargets *soft = view.softTargets();
    view.tabs()->setCurrentWidget(soft);
    QCoreApplication::processEvents();
    QSlider *slider = soft->temperatureSlider();
    const int span = slider->maximum() - slider->minimum() + 1;
    std::vector<double> move, dark;
    QElapsedTimer clock;
    for (int i = 0; i < moves; ++i) {
        int value = slider->minimum() + (i * 37) % span;
        if (value == slider->value())
            value = slider->minimum() + (value - slider->minimum() + 1) % span;
        clock.start();
        slider->setValue(value);
        soft->softPlot()->plot()->replot(QCustomPlot::rpImmediateRefresh);
        soft->darkPlot()->plot()->replot(QCustomPlot::rpImmediateRefresh);
        move.push_back(double(clock.nsecsElapsed()) / 1e6);
        QCoreApplication::processEvents(); // the queued replots, outside the timing
        const AnalysisLogits *t = view.run().logitsOf(InsightModel::Teacher);
        clock.start();
        volatile double sink = darkKnowledge(t->view(), t->labels.data(), value / 10.0)[0][0];
        (void)sink;
        dark.push_back(double(clock.nsecsElapsed()) / 1e6);
    }
    const Times m = summarise(move), d = summarise(dark);
    std::printf("%8lld %8lld %6d %11.2f %10.2f %10.2f %18.2f\n", (long long)k, (long long)n, moves, m.median, m.p95,
                m.max, d.median);
}

} // namespace

int main(int argc, char **argv)
{
    QApplication qapp(argc, argv);
    CLI::App app{"Times a move of the Insight tab's temperature slider: the soft targets and the dark knowledge redrawn."};
    std::int64_t test = 10000;
    std::vector<std::int64_t> classes{10, 100};
    int moves = 200;
    app.add_option("--test", test, "Test examples")->capture_default_str();
    app.add_option("--classes", classes, "Class counts to time")->delimiter(',')->capture_default_str();
    app.add_option("--moves", moves, "Slider moves per class count")->capture_default_str()->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    std::printf("%8s %8s %6s %11s %10s %10s %18s\n", "classes", "examples", "moves", "median ms", "p95 ms", "max ms",
                "dark-knowledge ms");
    for (std::int64_t k : classes)
        bench(test, k, moves);
    return 0;
}
