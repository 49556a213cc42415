#include "slurmoptionsbox.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>

using namespace distillery;

namespace {

const QString kKey = QStringLiteral("sweep/slurm/");

// Slurm's forms of a time limit: minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or no limit.
bool slurmTime(const QString &t)
{
    static const QRegularExpression re(QStringLiteral("^(\\d+(:\\d+){0,2}|\\d+-\\d+(:\\d+){0,2}|unlimited|infinite)$"),
                                       QRegularExpression::CaseInsensitiveOption);
    return t.isEmpty() || re.match(t).hasMatch();
}

} // namespace

SlurmOptionsBox::SlurmOptionsBox(QWidget *parent)
    : QGroupBox(tr("Slurm: each point a task of an array job"), parent), runOn_(new QComboBox),
      partition_(new QLineEdit), time_(new QLineEdit), cpus_(new QSpinBox), gpus_(new QSpinBox),
      lines_(new QPlainTextEdit)
{
    runOn_->addItems({tr("This machine"), tr("Slurm cluster")});
    runOn_->setToolTip(tr("This machine: the runs are distillery-run processes here. Slurm cluster: they are "
                          "submitted with sbatch (the teacher first, the other points after it)."));
    partition_->setPlaceholderText(tr("the cluster's default"));
    partition_->setToolTip(tr("sbatch --partition"));
    time_->setPlaceholderText(tr("the partition's limit, e.g. 2:00:00"));
    time_->setToolTip(tr("sbatch --time: each point's limit (minutes, H:MM:SS or D-HH:MM)"));
    cpus_->setRange(0, 1024);
    cpus_->setSpecialValueText(tr("Slurm's default"));
    cpus_->setToolTip(tr("sbatch --cpus-per-task: each point trains on this many threads"));
    gpus_->setRange(0, 64);
    gpus_->setSpecialValueText(tr("none"));
    gpus_->setToolTip(tr("sbatch --gpus-per-task (a cluster that counts GPUs as generic resources: "
                         "--gres=gpu:N as an extra line instead)"));
    lines_->setPlaceholderText(tr("--mem=8G\nmodule load cuda"));
    lines_->setToolTip(tr("Extra lines of each batch script: --mem=8G or #SBATCH … become #SBATCH lines; anything "
                          "else (module load cuda) runs before the point"));
    lines_->setTabChangesFocus(true);
    lines_->setFixedHeight(lines_->fontMetrics().lineSpacing() * 4 + 12);
    auto *form = new QFormLayout(this);
    form->addRow(tr("Partition:"), partition_);
    form->addRow(tr("Time limit:"), time_);
    form->addRow(tr("CPUs per task:"), cpus_);
    form->addRow(tr("GPUs per task:"), gpus_);
    form->addRow(tr("Extra sbatch lines:"), lines_);
    auto *note = new QLabel(tr("The workspace must be on a filesystem the nodes share, and distillery-run at the "
                               "same path on them. The Sweeps tab follows the points as their runs are written."));
    note->setWordWrap(true);
    form->addRow(note);

    const QSettings s;
    runOn_->setCurrentIndex(s.value(kKey + QStringLiteral("on"), false).toBool() ? 1 : 0);
    partition_->setText(s.value(kKey + QStringLiteral("partition")).toString());
    time_->setText(s.value(kKey + QStringLiteral("time")).toString());
    cpus_->setValue(s.value(kKey + QStringLiteral("cpus"), 0).toInt());
    gpus_->setValue(s.value(kKey + QStringLiteral("gpus"), 0).toInt());
    lines_->setPlainText(s.value(kKey + QStringLiteral("lines")).toString());
    if (!onSlurm())
        hide(); // shown with the dialog otherwise (not here: without a parent yet it would be a window)

    connect(runOn_, &QComboBox::currentIndexChanged, this, [this] {
        setVisible(onSlurm());
        Q_EMIT changed();
    });
    for (QLineEdit *e : {partition_, time_})
        connect(e, &QLineEdit::textChanged, this, &SlurmOptionsBox::changed);
    for (QSpinBox *b : {cpus_, gpus_})
        connect(b, &QSpinBox::valueChanged, this, &SlurmOptionsBox::changed);
    connect(lines_, &QPlainTextEdit::textChanged, this, &SlurmOptionsBox::changed);
}

bool SlurmOptionsBox::onSlurm() const
{
    return runOn_->currentIndex() == 1;
}

void SlurmOptionsBox::setOnSlurm(bool on)
{
    runOn_->setCurrentIndex(on ? 1 : 0);
}

SlurmOptions SlurmOptionsBox::options() const
{
    SlurmOptions o;
    o.partition = partition_->text().trimmed().toStdString();
    o.timeLimit = time_->text().trimmed().toStdString();
    o.cpusPerTask = cpus_->value();
    o.gpusPerTask = gpus_->value();
    for (const QString &line : lines_->toPlainText().split(QLatin1Char('\n')))
        if (!line.trimmed().isEmpty())
            o.extraLines.push_back(line.trimmed().toStdString());
    return o;
}

QString SlurmOptionsBox::problem() const
{
    if (!onSlurm())
        return {};
    const QString partition = partition_->text().trimmed();
    if (partition.contains(QRegularExpression(QStringLiteral("\\s"))))
        return tr("Partition: one name, without spaces (a list is written with commas)");
    if (!slurmTime(time_->text().trimmed()))
        return tr("Time limit: “%1” is not one of Slurm's forms (minutes, H:MM:SS, D-HH:MM)")
            .arg(time_->text().trimmed());
    return {};
}

void SlurmOptionsBox::remember() const
{
    QSettings s;
    s.setValue(kKey + QStringLiteral("on"), onSlurm());
    s.setValue(kKey + QStringLiteral("partition"), partition_->text().trimmed());
    s.setValue(kKey + QStringLiteral("time"), time_->text().trimmed());
    s.setValue(kKey + QStringLiteral("cpus"), cpus_->value());
    s.setValue(kKey + QStringLiteral("gpus"), gpus_->value());
    s.setValue(kKey + QStringLiteral("lines"), lines_->toPlainText());
}
