// A one-line label that elides its text to its width ("Classes: cat 1200 ·
// dog 1187 · …"), so a long list shows what fits without widening the panel.
#pragma once

#include <QLabel>

class ElidedLabel : public QLabel {
public:
    explicit ElidedLabel(QWidget *parent = nullptr);

    // The whole text; what is shown is it elided at the right.
    void setFullText(const QString &text);
    QString fullText() const { return full_; }
    QSize minimumSizeHint() const override;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void elide();

    QString full_;
};
