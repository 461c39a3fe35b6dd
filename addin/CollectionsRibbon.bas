Attribute VB_Name = "CollectionsRibbon"
' Ribbon dispatcher of the Collections add-in (built into Collections.xlam by
' receivables.addin.build). Every button of the Collections tab calls this one callback;
' Python maps the button id to its handler (receivables.addin.buttons.BUTTONS), so a new
' button never needs a change here. The names carry the module name so that they cannot
' clash with the callbacks of other xlwings add-ins.
Option Explicit

Public Sub CollectionsRibbon_OnAction(control As IRibbonControl)
    ' RunPython reads ActiveWorkbook before Python starts: with no workbook open it would
    ' stop with a VBA error instead of a message the clerk understands.
    If ActiveWorkbook Is Nothing Then
        MsgBox "Open the receivables workbook first, then click the button again.", _
            vbInformation, "Collections"
        Exit Sub
    End If
    RunPython "import receivables.addin; receivables.addin.dispatch('" & control.Id & "')"
End Sub
