// What opening the window on a large workspace costs (docs/PERFORMANCE.md,
// issue 15's "opening the window on a workspace of 10,000 runs"): the real
// MainWindow made on WORKSPACE and shown, timed until the Runs panel lists
// its runs; then the panel's refresh alone, and a filter through the run
// index. Prints figures, judges nothing. Make the workspace first with
// bench_run_index --workspace DIR.
//
//   QT_QPA_PLATFORM=offscreen build/benchmarks/bench_open_window --workspace DIR [--repeats 3]
#include "mainwindow.h"
#include "runspanel.h"

#include <CLI/CLI.hpp>

#include <QApplication>
#include <QElapsedTimer>
#include <QLineEdit>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    CLI::App cli{"Times opening the Distillery window on a workspace and listing its runs"};
    std::string workspace;
    int repeats = 3;
    cli.add_option("--workspace", workspace, "A workspace with runs (bench_run_index --workspace DIR makes one)")
        ->required();
    cli.add_option("--repeats", repeats, "Repeats (the median is printed)")->capture_default_str();
    CLI11_PARSE(cli, argc, argv);

    std::vector<double> open, refresh, filter;
    int runs = 0, matching = 0;
    for (int i = 0; i < repeats; ++i) {
        QElapsedTimer t;
        t.start();
        MainWindow w(QString::fromStdString(workspace));
        w.show();
        QApplication::processEvents();
        open.push_back(double(t.nsecsElapsed()) / 1e6);
        RunsPanel *panel = w.runsPanel();
        runs = panel->runCount();
        t.restart();
        panel->refresh();
        refresh.push_back(double(t.nsecsElapsed()) / 1e6);
        panel->filterEdit()->setText(QStringLiteral("alpha >= 0.5 and status = finished"));
        t.restart();
        panel->refresh();
        filter.push_back(double(t.nsecsElapsed()) / 1e6);
        matching = panel->runCount();
    }
    std::printf("workspace: %s, %d runs\n", workspace.c_str(), runs);
    std::printf("open the window, runs listed:         %8.1f ms (median of %d)\n", median(open), repeats);
    std::printf("Runs panel refresh:                   %8.1f ms\n", median(refresh));
    std::printf("refresh with a filter (run index):    %8.1f ms (%d runs match)\n", median(filter), matching);
    return 0;
}
