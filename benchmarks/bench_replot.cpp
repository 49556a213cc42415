// Replot time of a live plot holding many points: prints figures, judges nothing.
//   QT_QPA_PLATFORM=offscreen build/benchmarks/bench_replot [points ...]
#include "liveplot.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    std::vector<long> sizes;
    for (int i = 1; i < argc; ++i)
        sizes.push_back(std::atol(argv[i]));
    if (sizes.empty())
        sizes = {100000, 1000000};

    std::printf("%10s %8s %14s %14s %14s\n", "points", "series", "append (ms)", "replot median", "replot max");
    for (long n : sizes) {
        LivePlot plot(QStringLiteral("bench"), QStringLiteral("loss"));
        plot.resize(900, 500);
        plot.show();
        const int series = 3;
        std::vector<int> ids;
        for (int s = 0; s < series; ++s)
            ids.push_back(plot.addSeries(QStringLiteral("s%1").arg(s), QColor::fromHsv(s * 100, 200, 200)));
        QElapsedTimer t;
        t.start();
        for (int s = 0; s < series; ++s)
            for (long i = 1; i <= n; ++i)
                plot.addPoint(ids[std::size_t(s)], double(i), i / 400.0, std::exp(-i / double(n)) + 0.05 * std::sin(i * 0.37 + s));
        const double appendMs = t.nsecsElapsed() / 1e6;
        // First draw hands every point to QCustomPlot; later replots are what a
        // user pays for each zoom, pan or new batch of points.
        QCoreApplication::processEvents();
        for (int i = 0; i < 5 && plot.replotCount() == 0; ++i) {
            QCoreApplication::processEvents(QEventLoop::AllEvents, 100);
        }
        std::vector<double> times;
        for (int r = 0; r < 15; ++r) {
            plot.plot()->xAxis->setRange(0, n * (0.5 + r / 30.0));
            t.restart();
            plot.plot()->replot(QCustomPlot::rpImmediateRefresh);
            times.push_back(t.nsecsElapsed() / 1e6);
        }
        std::sort(times.begin(), times.end());
        std::printf("%10ld %8d %14.1f %11.2f ms %11.2f ms\n", n, series, appendMs, times[times.size() / 2], times.back());
    }
    return 0;
}
