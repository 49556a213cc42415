// How each stage looks wherever curves are drawn: one colour and one name;
// and the colours of compared runs.
#pragma once

#include "distillery/events.h"

#include <QColor>
#include <QObject>
#include <QString>

inline QColor stageColor(distillery::StageKind k)
{
    switch (k) {
    case distillery::StageKind::Teacher: return QColor(123, 31, 162);     // purple
    case distillery::StageKind::Baseline: return QColor(239, 108, 0);     // orange
    case distillery::StageKind::Distillation: return QColor(21, 101, 192); // blue
    }
    return Qt::gray;
}

inline QString stageTitle(distillery::StageKind k)
{
    switch (k) {
    case distillery::StageKind::Teacher: return QObject::tr("teacher");
    case distillery::StageKind::Baseline: return QObject::tr("baseline");
    case distillery::StageKind::Distillation: return QObject::tr("student");
    }
    return {};
}

// The colour of the i-th compared run: none of the stages' colours, so a
// compared run is not taken for a stage of the run in progress.
inline QColor runColor(int i)
{
    static const QColor colors[] = {QColor(0, 137, 123), QColor(194, 24, 91), QColor(109, 76, 65),
                                    QColor(85, 139, 47), QColor(69, 90, 100), QColor(251, 140, 0)};
    return colors[i % int(sizeof colors / sizeof colors[0])];
}
