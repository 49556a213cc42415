#include "runstatusview.h"

#include "format.h"
#include "stagestyle.h"

#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QStatusBar>
#include <QTimer>

using namespace distillery;

RunStatusView::RunStatusView(QStatusBar *bar)
    : QObject(bar), stageLabel_(new QLabel(bar)), reasonLabel_(new QLabel(bar)), progress_(new QProgressBar(bar)),
      timer_(new QTimer(this))
{
    timer_->setSingleShot(true);
    timer_->setInterval(kIntervalMs);
    connect(timer_, &QTimer::timeout, this, &RunStatusView::showLatestStep);
    progress_->setMaximumWidth(260);
    progress_->setTextVisible(true);
    progress_->setFormat(QString());
    progress_->hide(); // until there is a run to follow
    reasonLabel_->setStyleSheet(QStringLiteral("color: #c62828;"));
    bar->addWidget(stageLabel_, 1);
    bar->addWidget(reasonLabel_);
    bar->addPermanentWidget(progress_);
}

void RunStatusView::showText(const QString &text)
{
    stageLabel_->setText(text);
}

void RunStatusView::setPaused(bool paused)
{
    paused_ = paused;
    stageLabel_->setText(paused ? tr("Paused: %1").arg(stageLabel_->text()) : stageLabel_->text().remove(tr("Paused: ")));
}

void RunStatusView::setBlockedReason(const QString &reason)
{
    reasonLabel_->setText(reason.isEmpty() ? QString() : tr("Cannot start: %1").arg(reason));
    reasonLabel_->setToolTip(reason);
}

void RunStatusView::clear(const QString &text)
{
    paused_ = false;
    progress_->setValue(0);
    progress_->show();
    stageLabel_->setText(text);
}

void RunStatusView::dataProgress(qint64 done, qint64 total)
{
    progress_->setValue(total > 0 ? int(100 * done / total) : 0);
    progress_->setFormat(QStringLiteral("%p%"));
    stageLabel_->setText(tr("Decoding images: %1 of %2").arg(QLocale().toString(done), QLocale().toString(total)));
}

void RunStatusView::stageStarted(const StageInfo &info)
{
    stage_ = info;
    stageClock_.start();
    stepPending_ = false; // the previous stage's last report is not this stage's status
    progress_->setValue(0);
    stageLabel_->setText(tr("Stage %1/%2: %3 (%4)").arg(info.index + 1).arg(info.stageCount).arg(stageTitle(info.kind), QString::fromStdString(info.model)));
}

void RunStatusView::stepReported(const StepMetrics &m)
{
    lastStep_ = m;
    stepPending_ = true;
    if (!timer_->isActive())
        timer_->start();
}

void RunStatusView::showLatestStep()
{
    if (!stepPending_)
        return;
    stepPending_ = false;
    const StepMetrics &m = lastStep_;
    const double fraction = m.totalSteps ? double(m.step) / double(m.totalSteps) : 0.0;
    const double elapsed = stageClock_.elapsed() / 1000.0;
    const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0.0;
    progress_->setValue(int(fraction * 100));
    progress_->setFormat(tr("%p% · ETA %1").arg(fmt::duration(eta)));
    // A report that was on its way when the run paused keeps the word.
    stageLabel_->setText((paused_ ? tr("Paused: ") : QString()) +
                         tr("Stage %1/%2: %3 · epoch %4/%5 · step %6/%7 · %8 samples/s")
                             .arg(stage_.index + 1)
                             .arg(stage_.stageCount)
                             .arg(stageTitle(m.stage))
                             .arg(m.epoch)
                             .arg(stage_.epochs)
                             .arg(m.step)
                             .arg(m.totalSteps)
                             .arg(QLocale().toString(m.samplesPerSecond, 'f', 0)));
}

void RunStatusView::runFinished(const RunResult &r)
{
    progress_->setFormat(QString::fromStdString(statusName(r.status)));
    const StageResult *b = r.stage(StageKind::Baseline);
    const StageResult *st = r.stage(StageKind::Distillation);
    QString text = tr("Run %1").arg(QString::fromStdString(statusName(r.status)));
    if (st && st->epochsDone > 0) {
        text += tr(" · student %1").arg(fmt::percent(st->testAccuracy));
        if (b && b->epochsDone > 0)
            text += tr(" vs baseline %1 (%2 points)").arg(fmt::percent(b->testAccuracy))
                        .arg(QString::asprintf("%+.2f", 100 * (st->testAccuracy - b->testAccuracy)));
    }
    stageLabel_->setText(text + tr(" · %1").arg(fmt::duration(r.seconds)));
}
