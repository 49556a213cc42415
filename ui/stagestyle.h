// How each stage looks wherever curves are drawn: one colour and one name.
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
