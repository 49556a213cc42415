// Number formatting shared by the widgets.
#pragma once

#include <QString>

namespace fmt {

// 1234 -> "1.2k", 4240000 -> "4.24M".
inline QString count(double v)
{
    if (v >= 1e9)
        return QString::number(v / 1e9, 'f', 2) + QLatin1Char('G');
    if (v >= 1e6)
        return QString::number(v / 1e6, 'f', 2) + QLatin1Char('M');
    if (v >= 1e3)
        return QString::number(v / 1e3, 'f', 1) + QLatin1Char('k');
    return QString::number(v, 'f', 0);
}

// A fraction as a percentage, or a dash when it is unknown (negative or NaN).
inline QString percent(double v, int decimals = 2)
{
    return v >= 0 ? QString::number(100.0 * v, 'f', decimals) + QLatin1Char('%') : QStringLiteral("–");
}

inline QString duration(double seconds)
{
    const int t = int(seconds + 0.5);
    return t >= 3600 ? QStringLiteral("%1:%2:%3").arg(t / 3600).arg(t / 60 % 60, 2, 10, QLatin1Char('0')).arg(t % 60, 2, 10, QLatin1Char('0'))
                     : QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

} // namespace fmt
