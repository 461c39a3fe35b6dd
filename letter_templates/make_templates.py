"""Build the packaged letter templates (``<letter>.<language>.docx``) with python-docx.

Run ``python letter_templates/make_templates.py`` after changing the texts or the layout
here; the .docx files are committed so that clerks can open and edit them in Word. The
tags are docxtpl's (Jinja inside Word): the context keys and filters are documented in
``README.md``. Output is reproducible: the document properties carry a fixed date.

Layout (A4): letterhead in the page header (company, address, contacts, rule), place and
date, addressee, reference, subject, salutation, text, the invoice table with a subtotal
row (interest and compensation columns only when the interest rule charges them), the
totals or claim schedule, legal basis of the interest, payment instructions, consequence,
closing and signature; footer with company, reference and page x / y.
"""

from __future__ import annotations

import argparse
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

LETTERS = ("reminder", "formal_demand", "final_demand", "legal_demand")
LANGUAGES = ("en", "es", "hu", "zh", "de", "fr")
FONT = "Arial"  # in every Word; LibreOffice substitutes the metric-compatible Liberation Sans
# Chinese text: SimSun ships with every Word on Windows; LibreOffice (and Word without it)
# falls back to an installed CJK font such as Noto Sans CJK SC (fonts-noto-cjk).
CJK_FONT = {"zh": "SimSun"}
# Language tags of the Normal style, so spell check and line breaking suit the text.
LANG_TAG = {
    "en": "en-GB",
    "es": "es-ES",
    "hu": "hu-HU",
    "zh": "zh-CN",
    "de": "de-DE",
    "fr": "fr-FR",
}
ACCENT = RGBColor(0x1F, 0x3A, 0x5F)
GREY = RGBColor(0x59, 0x59, 0x59)
FIXED_DATE = datetime(2026, 1, 1)

# Payment details, legal bases and table labels shared by the four letters of a language.
COMMON = {
    "en": {
        "our_ref": "Our reference",
        "customer_no": "Customer no.",
        "attn": "Attn.",
        "dear": "{% if contact %}Dear {{ contact }},{% else %}Dear Sir or Madam,{% endif %}",
        # A named addressee gets "sincerely", "Dear Sir or Madam" gets "faithfully".
        "closing": ["{% if contact %}Yours sincerely,{% else %}Yours faithfully,{% endif %}"],
        "department": "Credit Control Department",
        "interest_words": "{% if has_compensation %}late-payment interest and compensation"
        "{% else %}late-payment interest{% endif %}",
        "reply_words": " ({{ reply_days }} {% if reply_days_calendar %}days{% else %}working "
        "days{% endif %} from the date of this letter)",
        "table_heading": "Overdue invoices",
        "cols": (
            "Invoice",
            "Invoice date",
            "Due date",
            "Days overdue",
            "Amount",
            "Paid",
            "Outstanding",
            "Rate",
            "Interest",
            "Compensation",
        ),
        "subtotal": "Subtotal",
        "principal": "Principal outstanding",
        "credits": "Less credit notes and payments on account",
        "interest_to": "Interest to {{ letter_date }}",
        "compensation": "Fixed compensation for recovery costs",
        "total": "Total due",
        "basis_eu_directive": "Interest runs from the day after each due date at the "
        "statutory rate of Directive 2011/7/EU on combating late payment in commercial "
        "transactions: the ECB reference rate plus {{ interest_margin }} (currently "
        "{{ interest_rate }} a year).{% if has_compensation %} Each invoice also carries a "
        "fixed compensation for recovery costs.{% endif %}",
        "basis_hu_ptk": "Interest runs from the day after each due date under section 6:155 of "
        "the Hungarian Civil Code (Act V of 2013): the central bank base rate of the Magyar "
        "Nemzeti Bank plus {{ interest_margin }} (currently {{ interest_rate }} a year)."
        "{% if has_compensation %} Each invoice also carries a flat-rate recovery cost equal "
        "to {{ compensation_eur }} in forints at the official MNB exchange rate.{% endif %}",
        "basis_uk_late_payment": "Interest runs from the day after each due date under the Late Payment "
        "of Commercial Debts (Interest) Act 1998, at the Bank of England base rate plus "
        "{{ interest_margin }}{% if has_compensation %}; fixed compensation is claimed "
        "under section 5A of the Act{% endif %}.",
        "basis_contract": "Interest runs from the day after each due date at the "
        "contractual rate of {{ interest_rate }} a year.",
        "pay": "{% if iban %}Please pay into our account **IBAN {{ iban }}**{% if bic %}, BIC "
        "{{ bic }}{% endif %}{% if bank_name %} ({{ bank_name }}){% endif %}, quoting"
        "{% else %}Please quote{% endif %} the reference {{ reference }}"
        "{% if not iban %} with your payment{% endif %}.",
        "page": "Page",
        "tax_id": "Tax ID",
        "tel": "Tel.",
    },
    "es": {
        "our_ref": "Nuestra referencia",
        "customer_no": "N.º de cliente",
        "attn": "A la atención de",
        "dear": "{% if contact %}Estimado/a {{ contact }}:{% else %}Muy señores nuestros:"
        "{% endif %}",
        "closing": ["Atentamente,"],
        "department": "Departamento de Gestión de Cobros",
        "interest_words": "{% if has_compensation %}los intereses de demora y la "
        "indemnización{% else %}los intereses de demora{% endif %}",
        "reply_words": " ({{ reply_days }} días{% if not reply_days_calendar %} hábiles"
        "{% endif %} desde la fecha de esta carta)",
        "table_heading": "Facturas vencidas",
        "cols": (
            "Factura",
            "Fecha factura",
            "Vencimiento",
            "Días de retraso",
            "Importe",
            "Pagado",
            "Pendiente",
            "Tipo",
            "Intereses",
            "Indemnización",
        ),
        "subtotal": "Subtotal",
        "principal": "Principal pendiente",
        "credits": "Menos abonos y pagos a cuenta",
        "interest_to": "Intereses de demora al {{ letter_date }}",
        "compensation": "Indemnización por costes de cobro",
        "total": "Total a pagar",
        "basis_eu_directive": "Los intereses se devengan desde el día siguiente al vencimiento de cada "
        "factura al tipo legal de demora de la Ley 3/2004, de 29 de diciembre, que transpone "
        "la Directiva 2011/7/UE: el tipo de referencia más {{ interest_margin }} "
        "(actualmente el {{ interest_rate }} anual).{% if has_compensation %} Cada factura "
        "da derecho, además, a una indemnización fija por costes de cobro.{% endif %}",
        "basis_hu_ptk": "Los intereses se devengan desde el día siguiente al vencimiento de "
        "cada factura conforme al artículo 6:155 del Código Civil húngaro (Ley V de 2013): el "
        "tipo básico del Magyar Nemzeti Bank más {{ interest_margin }} (actualmente el "
        "{{ interest_rate }} anual).{% if has_compensation %} Cada factura da derecho, "
        "además, a una cantidad fija por costes de cobro equivalente a {{ compensation_eur }} "
        "en forintos al tipo de cambio oficial del MNB.{% endif %}",
        "basis_uk_late_payment": "Los intereses se devengan desde el día siguiente al vencimiento de cada "
        "factura conforme a la Late Payment of Commercial Debts (Interest) Act 1998 del "
        "Reino Unido, al tipo básico del Banco de Inglaterra más {{ interest_margin }}"
        "{% if has_compensation %}; la indemnización fija se reclama según su artículo 5A"
        "{% endif %}.",
        "basis_contract": "Los intereses se devengan desde el día siguiente al vencimiento de "
        "cada factura al tipo pactado en el contrato del {{ interest_rate }} anual.",
        "pay": "{% if iban %}Les rogamos efectúen el pago en nuestra cuenta **IBAN {{ iban }}**"
        "{% if bic %}, BIC {{ bic }}{% endif %}{% if bank_name %} ({{ bank_name }}){% endif %}"
        ", indicando{% else %}Les rogamos indiquen en su pago{% endif %} la referencia "
        "{{ reference }}.",
        "page": "Página",
        "tax_id": "NIF",
        "tel": "Tel.",
    },
    "hu": {
        "our_ref": "Hivatkozási szám",
        "customer_no": "Ügyfélszám",
        "attn": "Figyelmébe:",
        "dear": "{% if contact %}Tisztelt {{ contact }}!{% else %}Tisztelt Hölgyem/Uram!"
        "{% endif %}",
        "closing": ["Tisztelettel:"],
        "department": "Követeléskezelési osztály",
        "interest_words": "{% if has_compensation %}a késedelmi kamattal és a "
        "költségátalánnyal{% else %}a késedelmi kamattal{% endif %}",
        "reply_words": " (a levél keltétől számított {{ reply_days }} "
        "{% if reply_days_calendar %}nap{% else %}munkanap{% endif %})",
        "table_heading": "Lejárt számlák",
        "cols": (
            "Számla",
            "Számla kelte",
            "Esedékesség",
            "Késés (nap)",
            "Összeg",
            "Fizetve",
            "Tartozás",
            "Kamatláb",
            "Kamat",
            "Költség-átalány",
        ),
        "subtotal": "Részösszeg",
        "principal": "Tőketartozás",
        "credits": "Levonva: jóváírások és előlegek",
        "interest_to": "Késedelmi kamat a levél keltéig",
        "compensation": "Behajtási költségátalány",
        "total": "Fizetendő összesen",
        "basis_eu_directive": "A késedelmi kamat az egyes számlák esedékességét követő naptól jár, a "
        "késedelmes fizetések elleni küzdelemről szóló 2011/7/EU irányelv szerinti mértékben: "
        "a referencia-kamatláb plusz {{ interest_margin }} (jelenleg évi {{ interest_rate }})."
        "{% if has_compensation %} Minden számla után behajtási költségátalány is jár."
        "{% endif %}",
        "basis_hu_ptk": "A késedelmi kamat az egyes számlák esedékességét követő naptól jár a "
        "Polgári Törvénykönyvről szóló 2013. évi V. törvény 6:155. §-a szerint: a Magyar "
        "Nemzeti Bank jegybanki alapkamata plusz {{ interest_margin }} (jelenleg évi "
        "{{ interest_rate }}).{% if has_compensation %} Minden számla után "
        "{{ compensation_eur }} összegnek megfelelő, az MNB hivatalos devizaárfolyamán "
        "forintban számított behajtási költségátalány is jár.{% endif %}",
        "basis_uk_late_payment": "A késedelmi kamat az egyes számlák esedékességét követő naptól jár az "
        "Egyesült Királyság Late Payment of Commercial Debts (Interest) Act 1998 törvénye "
        "szerint: a Bank of England alapkamata plusz {{ interest_margin }}"
        "{% if has_compensation %}; a költségátalány a törvény 5A. szakasza szerint jár"
        "{% endif %}.",
        "basis_contract": "A késedelmi kamat az egyes számlák esedékességét követő naptól a "
        "szerződésben kikötött évi {{ interest_rate }} mértékben jár.",
        "pay": "{% if iban %}Kérjük, az összeget **{{ iban|hu_article }}** IBAN "
        "számlaszámunkra utalják{% if bic %} (BIC: {{ bic }}){% endif %}{% if bank_name %}, "
        "{{ bank_name }}{% endif %}, és a közleményben tüntessék fel{% else %}Kérjük, "
        "a közleményben tüntessék fel{% endif %} {{ reference|hu_article }} hivatkozási "
        "számot.",
        "page": "Oldal",
        "tax_id": "Adószám",
        "tel": "Tel.",
    },
    "zh": {
        "our_ref": "我方编号",
        "customer_no": "客户编号",
        "attn": "收件人：",
        "dear": "{% if contact %}尊敬的{{ contact }}：{% else %}敬启者：{% endif %}",
        "closing": ["此致", "敬礼！"],
        "department": "信用管理部",
        "interest_words": "{% if has_compensation %}逾期利息及补偿{% else %}逾期利息{% endif %}",
        "reply_words": "（自本函日期起{{ reply_days }}个{% if not reply_days_calendar %}工作"
        "{% endif %}日）",
        "table_heading": "逾期发票",
        "cols": (
            "发票号",
            "开票日期",
            "到期日",
            "逾期天数",
            "金额",
            "已付",
            "未付",
            "利率",
            "利息",
            "补偿",
        ),
        "subtotal": "小计",
        "principal": "未付本金",
        "credits": "减：贷项通知单及预收款",
        "interest_to": "截至{{ letter_date }}的利息",
        "compensation": "固定追偿费用补偿",
        "total": "应付总额",
        "basis_eu_directive": "自每张发票到期日的次日起，按欧盟第2011/7/EU号指令规定的法定"
        "利率计息：欧洲中央银行参考利率加{{ interest_margin }}（目前年利率为"
        "{{ interest_rate }}）。{% if has_compensation %}每张发票另须支付固定的追偿费用补偿。"
        "{% endif %}",
        "basis_hu_ptk": "自每张发票到期日的次日起，依照《匈牙利民法典》（2013年第五号法律）"
        "第6:155条计息：匈牙利国家银行基准利率加{{ interest_margin }}（目前年利率为"
        "{{ interest_rate }}）。{% if has_compensation %}每张发票另须支付相当于"
        "{{ compensation_eur }}的追偿费用补偿，按匈牙利国家银行官方汇率折算为福林。"
        "{% endif %}",
        "basis_uk_late_payment": "自每张发票到期日的次日起，依照英国《1998年商业债务逾期付款"
        "（利息）法》计息：英格兰银行基准利率加{{ interest_margin }}"
        "{% if has_compensation %}；固定补偿依该法第5A条主张{% endif %}。",
        "basis_contract": "自每张发票到期日的次日起，按合同约定的年利率{{ interest_rate }}计息。",
        "pay": "{% if iban %}请将款项汇入我方账户 **IBAN {{ iban }}**{% if bic %}（BIC "
        "{{ bic }}）{% endif %}{% if bank_name %}，开户行：{{ bank_name }}{% endif %}，并"
        "{% else %}请{% endif %}在付款时注明编号 {{ reference }}。",
        "page": "页码",
        "tax_id": "税号",
        "tel": "电话",
    },
}

# The previous letter about these invoices, cited by name, date and reference; letters
# mention it only inside {% if previous_letter %}, so they never claim a letter that was
# not sent (see README.md, "The previous letter").
PREVIOUS = {
    "en": "our {{ previous_letter_name }} of {{ previous_date }} (ref. {{ previous_reference }})",
    "es": "nuestro {{ previous_letter_name }} del {{ previous_date }} (ref. "
    "{{ previous_reference }})",
    "hu": "legutóbbi levelünk ({{ previous_letter_name }}, kelt: {{ previous_date }}, "
    "hivatkozási szám: {{ previous_reference }})",
    "zh": "我方于{{ previous_date }}发出的{{ previous_letter_name }}（编号："
    "{{ previous_reference }}）",
}
# What a letter says instead when no earlier letter was sent.
UNPAID = {
    "en": "The invoices listed below remain unpaid although their due dates have passed.",
    "es": "Las facturas que se detallan a continuación siguen impagadas aunque su fecha de "
    "vencimiento ya ha pasado.",
    "hu": "Az alábbi számlák fizetési határideje lejárt, kiegyenlítésük azonban még nem "
    "történt meg.",
    "zh": "下列发票已过付款期限但仍未支付。",
}

# The text of each letter: subject, paragraphs before the table, after the payment
# instructions, and the closing. ``**...**`` is bold.
LETTER_TEXT = {
    ("reminder", "en"): {
        "subject": "Payment reminder: overdue invoices",
        "before": [
            "{% if previous_letter %}We refer to " + PREVIOUS["en"] + ". {% endif %}"
            "According to our records, the invoices listed below remain unpaid although "
            "their due date has passed. The overdue amount is **{{ total_overdue }}**.",
            "Perhaps this has escaped your attention. We would be grateful if you would pay "
            "**{{ total_claim }}** by **{{ reply_by }}**.",
        ],
        "after": [
            "If you have paid in the last few days, please disregard this letter. If you "
            "have any question about these invoices, please contact us quoting the "
            "reference above.",
        ],
    },
    ("formal_demand", "en"): {
        "subject": "Formal demand for payment",
        "before": [
            "{% if previous_letter %}Despite " + PREVIOUS["en"] + ", the invoices listed "
            "below remain unpaid.{% else %}" + UNPAID["en"] + "{% endif %} The overdue "
            "principal amounts to **{{ total_overdue }}**{% if has_interest %}; with "
            "{{ interest_words }}, **{{ total_claim }}** is due{% endif %}.",
            "We hereby formally demand payment of **{{ total_claim }}** by "
            "**{{ reply_by }}** at the latest.",
        ],
        "after": [
            "Until the full amount is received, deliveries to your account are suspended "
            "and no further credit will be extended.",
            "If you dispute any of these invoices, please tell us in writing by the same "
            "date, stating your reasons.",
        ],
    },
    ("final_demand", "en"): {
        "subject": "Final demand before legal action",
        "before": [
            "{% if previous_letter %}We wrote to you about the overdue invoices listed below "
            "in "
            + PREVIOUS["en"]
            + " without receiving payment.{% else %}"
            + UNPAID["en"]
            + "{% endif %} The overdue principal now amounts to **{{ total_overdue }}**;"
            " the oldest invoice is {{ oldest_days_overdue }} days overdue.",
            "This is our final demand. Unless we receive **{{ total_claim }}** by "
            "**{{ reply_by }}**, we will instruct our lawyers to start legal proceedings "
            "without further notice. The costs of those proceedings"
            "{% if has_interest %}, as well as interest that continues to accrue,{% endif %} may be claimed from "
            "you.",
        ],
        "after": [
            "If there is a reason for non-payment that we are not aware of, contact us "
            "immediately: this is the last opportunity to settle the matter without legal "
            "action.",
        ],
    },
    ("legal_demand", "en"): {
        "subject": "Letter before claim: demand for payment of {{ total_claim }}",
        "table_heading": "Claim schedule",
        "principal": "Principal",
        "total": "Total claimed",
        "before": [
            "{{ company_name }} hereby makes a formal claim against you for payment of the "
            "debt set out in the claim schedule below, which remains unpaid"
            "{% if previous_letter %} despite " + PREVIOUS["en"] + "{% endif %}.",
        ],
        "basis_extra": "Interest continues to accrue until the date of payment.",
        "after": [
            "**Deadline:** you must pay **{{ total_claim }}** in full by **{{ reply_by }}**"
            "{{ reply_words }}.",
            "**Consequence:** if the full amount is not received by that date, we will issue "
            "court proceedings against you without further notice to recover the debt"
            "{% if has_interest %}, further interest{% endif %} and our legal costs. Court proceedings may adversely affect "
            "your credit rating.",
            "If you dispute the claim, in whole or in part, you must tell us in writing "
            "before the deadline, giving full reasons and enclosing any supporting documents.",
        ],
    },
    ("reminder", "es"): {
        "subject": "Recordatorio de pago: facturas vencidas",
        "before": [
            "{% if previous_letter %}Nos referimos a " + PREVIOUS["es"] + ". {% endif %}"
            "Según nuestros registros, las facturas que se detallan a continuación siguen "
            "pendientes de pago aunque su fecha de vencimiento ya ha pasado. El importe "
            "vencido asciende a **{{ total_overdue }}**.",
            "Es posible que se trate de un descuido; les agradeceríamos que abonaran "
            "**{{ total_claim }}** a más tardar el **{{ reply_by }}**.",
        ],
        "after": [
            "Si ya han efectuado el pago en los últimos días, les rogamos no tengan en cuenta "
            "esta carta. Para cualquier consulta sobre estas facturas, pónganse en contacto "
            "con nosotros indicando la referencia.",
        ],
    },
    ("formal_demand", "es"): {
        "subject": "Requerimiento formal de pago",
        "before": [
            "{% if previous_letter %}A pesar de " + PREVIOUS["es"] + ", las facturas que se "
            "detallan a continuación siguen impagadas.{% else %}"
            + UNPAID["es"]
            + "{% endif %} El principal vencido asciende a **{{ total_overdue }}**"
            "{% if has_interest %}; con {{ interest_words }}, el importe debido es de "
            "**{{ total_claim }}**{% endif %}.",
            "Por la presente les requerimos formalmente el pago de **{{ total_claim }}** a "
            "más tardar el **{{ reply_by }}**.",
        ],
        "after": [
            "Hasta recibir el pago íntegro, quedan suspendidos los suministros a su cuenta y "
            "no se concederá más crédito.",
            "Si no están conformes con alguna de estas facturas, comuníquennoslo por escrito "
            "antes de esa fecha, indicando los motivos.",
        ],
    },
    ("final_demand", "es"): {
        "subject": "Último aviso antes de emprender acciones legales",
        "before": [
            "{% if previous_letter %}Nos dirigimos a ustedes por las facturas vencidas que "
            "se detallan a continuación en " + PREVIOUS["es"] + ", sin haber recibido el "
            "pago.{% else %}" + UNPAID["es"] + "{% endif %} El principal vencido asciende a "
            "**{{ total_overdue }}** y la factura más antigua acumula "
            "{{ oldest_days_overdue }} días de retraso.",
            "Este es nuestro último aviso. Si el importe de **{{ total_claim }}** no se "
            "recibe en nuestra cuenta a más tardar el **{{ reply_by }}**, encargaremos a "
            "nuestros abogados el inicio de acciones judiciales sin más aviso. Las costas "
            "del procedimiento{% if has_interest %}, además de los intereses que sigan devengándose,{% endif %}"
            " podrán serles reclamadas.",
        ],
        "after": [
            "Si existe algún motivo para el impago que desconozcamos, contacten con nosotros "
            "de inmediato: es la última oportunidad de resolver el asunto sin acciones "
            "legales.",
        ],
    },
    ("legal_demand", "es"): {
        "subject": "Requerimiento de pago previo a la reclamación judicial: {{ total_claim }}",
        "table_heading": "Detalle de la reclamación",
        "principal": "Principal",
        "total": "Total reclamado",
        "before": [
            "Por medio de la presente, {{ company_name }} les requiere formalmente el pago de "
            "la deuda que se detalla a continuación, que sigue impagada"
            "{% if previous_letter %} a pesar de " + PREVIOUS["es"] + "{% endif %}.",
        ],
        "basis_extra": "Los intereses seguirán devengándose hasta la fecha de pago.",
        "after": [
            "**Plazo:** deberán abonar íntegramente **{{ total_claim }}** a más tardar el "
            "**{{ reply_by }}**{{ reply_words }}.",
            "**Consecuencia:** si el importe íntegro no se recibe en dicho plazo, "
            "interpondremos sin más aviso la correspondiente reclamación judicial para el "
            "cobro de la deuda{% if has_interest %}, los intereses devengados{% endif %} y las costas. La reclamación "
            "judicial puede afectar a su calificación crediticia.",
            "Si se oponen a la reclamación, en todo o en parte, deberán comunicárnoslo por "
            "escrito antes de que venza el plazo, exponiendo sus motivos y aportando la "
            "documentación correspondiente.",
        ],
    },
    ("reminder", "hu"): {
        "subject": "Fizetési emlékeztető – lejárt számlák",
        "before": [
            "{% if previous_letter %}Előzmény: " + PREVIOUS["hu"] + ". {% endif %}"
            "Nyilvántartásunk szerint az alábbi számlák fizetési határideje lejárt, "
            "kiegyenlítésük azonban még nem történt meg. A lejárt tartozás összege "
            "**{{ total_overdue }}**.",
            "Feltételezzük, hogy csupán figyelmetlenségről van szó, ezért kérjük, "
            "szíveskedjenek a fizetendő **{{ total_claim }}** összeget legkésőbb "
            "**{{ reply_by }}** napjáig rendezni.",
        ],
        "after": [
            "Amennyiben az elmúlt napokban már fizettek, kérjük, levelünket tekintsék "
            "tárgytalannak. A számlákkal kapcsolatos kérdéseikkel forduljanak hozzánk "
            "bizalommal, a hivatkozási szám megadásával.",
        ],
    },
    ("formal_demand", "hu"): {
        "subject": "Fizetési felszólítás",
        "before": [
            "{% if previous_letter %}"
            + PREVIOUS["hu"][0].upper()
            + PREVIOUS["hu"][1:]
            + " ellenére az alábbi számlák továbbra is kiegyenlítetlenek.{% else %}"
            + UNPAID["hu"]
            + "{% endif %} A lejárt tőketartozás **{{ total_overdue }}**"
            "{% if has_interest %}; "
            "{{ interest_words }} együtt **{{ total_claim }}** esedékes{% endif %}.",
            "Ezúton felszólítjuk Önöket, hogy a fennálló **{{ total_claim }}** összeget legkésőbb "
            "**{{ reply_by }}** napjáig fizessék meg.",
        ],
        "after": [
            "A teljes összeg beérkezéséig a szállításokat felfüggesztjük, és további hitelt "
            "nem nyújtunk.",
            "Amennyiben valamely számlát vitatják, kérjük, ezt ugyanezen határidőig "
            "írásban, indokolással együtt jelezzék.",
        ],
    },
    ("final_demand", "hu"): {
        "subject": "Utolsó felszólítás jogi lépések előtt",
        "before": [
            "{% if previous_letter %}Az alábbi lejárt számlák ügyében "
            + PREVIOUS["hu"].replace("levelünk", "levelünkben")
            + " megkerestük Önöket, "
            "fizetés azonban nem érkezett.{% else %}" + UNPAID["hu"] + "{% endif %} A "
            "lejárt tőketartozás jelenleg **{{ total_overdue }}**, "
            "a legrégebbi számla {{ oldest_days_overdue }} napja lejárt.",
            "Ez az utolsó felszólításunk. Amennyiben a fennálló **{{ total_claim }}** összeg "
            "legkésőbb **{{ reply_by }}** napjáig nem érkezik meg számlánkra, az ügyet "
            "további értesítés nélkül átadjuk jogi képviselőnknek a követelés bírósági "
            "érvényesítésére. Az eljárás költségeit{% if has_interest %} és a tovább futó késedelmi "
            "kamatot{% endif %} Önökre háríthatjuk.",
        ],
        "after": [
            "Ha a nemfizetésnek olyan oka van, amelyről nem tudunk, haladéktalanul vegyék fel "
            "velünk a kapcsolatot: ez az utolsó lehetőség az ügy peren kívüli rendezésére.",
        ],
    },
    ("legal_demand", "hu"): {
        "subject": "Fizetési felszólítás bírósági eljárás előtt: {{ total_claim }}",
        "table_heading": "A követelés részletezése",
        "principal": "Tőkekövetelés",
        "total": "Követelés összesen",
        "before": [
            "{{ company_name|hu_article(true) }} ezúton hivatalosan felszólítja Önöket az alább "
            "részletezett tartozás megfizetésére, amely{% if previous_letter %} "
            + PREVIOUS["hu"]
            + " ellenére{% endif %} továbbra is kiegyenlítetlen.",
        ],
        "basis_extra": "A késedelmi kamat a teljesítés napjáig tovább növekszik.",
        "after": [
            "**Határidő:** a teljes **{{ total_claim }}** összeget legkésőbb "
            "**{{ reply_by }}** napjáig kell megfizetniük{{ reply_words }}.",
            "**Következmény:** amennyiben a teljes összeg eddig nem érkezik meg, további "
            "értesítés nélkül bírósági eljárást (fizetési meghagyásos eljárást) indítunk a "
            "tartozás{% if has_interest %}, a késedelmi kamat{% endif %} és az eljárási költségek behajtására. A bírósági "
            "eljárás kedvezőtlenül befolyásolhatja hitelminősítésüket.",
            "Amennyiben a követelést egészben vagy részben vitatják, ezt a határidő lejárta "
            "előtt írásban, részletes indokolással és a vonatkozó dokumentumok csatolásával "
            "jelezzék.",
        ],
    },
    ("reminder", "zh"): {
        "subject": "付款提醒：逾期发票",
        "before": [
            "{% if previous_letter %}兹提及" + PREVIOUS["zh"] + "。{% endif %}"
            "根据我方记录，下列发票已过付款期限但仍未支付。逾期金额为**{{ total_overdue }}**。",
            "或许此事被疏忽了。烦请于**{{ reply_by }}**前支付**{{ total_claim }}**。",
        ],
        "after": [
            "如您已于近日付款，请忽略本函。如对上述发票有任何疑问，请与我们联系并注明上述编号。",
        ],
    },
    ("formal_demand", "zh"): {
        "subject": "正式付款催告",
        "before": [
            "{% if previous_letter %}尽管" + PREVIOUS["zh"] + "，下列发票仍未支付。"
            "{% else %}" + UNPAID["zh"] + "{% endif %}逾期本金为**{{ total_overdue }}**"
            "{% if has_interest %}；连同{{ interest_words }}，应付金额为**{{ total_claim }}**"
            "{% endif %}。",
            "我方特此正式要求贵方最迟于**{{ reply_by }}**支付**{{ total_claim }}**。",
        ],
        "after": [
            "在收到全部款项之前，我方将暂停对贵方供货，并不再提供信用额度。",
            "如贵方对上述任何发票有异议，请于同一日期前以书面形式告知并说明理由。",
        ],
    },
    ("final_demand", "zh"): {
        "subject": "采取法律行动前的最后催告",
        "before": [
            "{% if previous_letter %}我方已就下列逾期发票致函贵方（"
            + PREVIOUS["zh"]
            + "），但仍未收到付款。{% else %}"
            + UNPAID["zh"]
            + "{% endif %}逾期本金现为"
            "**{{ total_overdue }}**，最早一张发票已逾期{{ oldest_days_overdue }}天。",
            "这是我方的最后催告。如我方未能于**{{ reply_by }}**前收到**{{ total_claim }}**，"
            "我方将委托律师提起法律诉讼，恕不另行通知。诉讼费用{% if has_interest %}以及继续产生的利息{% endif %}"
            "可能由贵方承担。",
        ],
        "after": [
            "如存在我方不知悉的未付款原因，请立即与我们联系：这是在不采取法律行动的情况下解决"
            "此事的最后机会。",
        ],
    },
    ("legal_demand", "zh"): {
        "subject": "诉前付款催告：{{ total_claim }}",
        "table_heading": "债权明细",
        "principal": "本金",
        "total": "索赔总额",
        "before": [
            "{{ company_name }}特此正式要求贵方支付下列债权明细所列款项"
            "{% if previous_letter %}；尽管" + PREVIOUS["zh"] + "，该款项仍未支付"
            "{% endif %}。",
        ],
        "basis_extra": "利息将持续计算至付款之日。",
        "after": [
            "**期限：**贵方须于**{{ reply_by }}**前全额支付**{{ total_claim }}**"
            "{{ reply_words }}。",
            "**后果：**如届时未收到全部款项，我方将不另行通知，直接向法院提起诉讼，追讨债务{% if has_interest %}、"
            "后续利息{% endif %}及法律费用。法院诉讼可能对贵方的信用评级产生不利影响。",
            "如贵方对全部或部分债权有异议，须在期限届满前以书面形式告知，说明全部理由并附上"
            "相关证明文件。",
        ],
    },
}

# Column widths (cm) of the invoice table with and without the interest columns; both fill
# the 17 cm between the margins; the longest header words (Compensation, Indemnización,
# Részösszeg) fit in one line at 7 pt.
WIDTHS_INTEREST = (2.0, 2.1, 1.4, 1.9, 1.6, 2.1, 1.6, 1.8, 2.4)
WIDTHS_INTEREST_ONLY = (2.3, 2.2, 1.6, 2.2, 1.9, 2.4, 2.0, 2.3)
WIDTHS_PLAIN = (2.8, 2.4, 2.4, 1.8, 2.6, 2.3, 2.7)
# Item fields per column, in the order of COMMON[...]["cols"].
# ---- German and French ---------------------------------------------------------------------
# The interest wording names the regime of the debt (chosen by currency or country, see
# README.md): a German or French letter under the Directive cites the Directive's rule
# (ECB reference rate + 8 points), never § 288 BGB or article L441-10 of the French Code de
# commerce, whose rates differ (base rate + 9 points; ECB rate + 10 points).

# French typography: a no-break space before the colon and semicolon.
_NB = "\u00a0"

COMMON["de"] = {
    "our_ref": "Unser Zeichen",
    "customer_no": "Kundennr.",
    "attn": "z. Hd.",
    # A named contact is greeted by name; the close is the same for both.
    "dear": "{% if contact %}Guten Tag {{ contact }},{% else %}Sehr geehrte Damen und Herren,"
    "{% endif %}",
    "closing": ["Mit freundlichen Grüßen"],
    "department": "Forderungsmanagement",
    "interest_words": "{% if has_compensation %}Verzugszinsen und Verzugspauschale"
    "{% else %}Verzugszinsen{% endif %}",
    "reply_words": " ({{ reply_days }} {% if reply_days_calendar %}Tage{% else %}Arbeitstage"
    "{% endif %} ab dem Datum dieses Schreibens)",
    "table_heading": "Überfällige Rechnungen",
    "cols": (
        "Rechnung",
        "Rechnungsdatum",
        "Fällig am",
        "Tage überfällig",
        "Betrag",
        "Bezahlt",
        "Offen",
        "Zinssatz",
        "Zinsen",
        "Pauschale",
    ),
    "subtotal": "Zwischensumme",
    "principal": "Offene Hauptforderung",
    "credits": "Abzüglich Gutschriften und Anzahlungen",
    "interest_to": "Zinsen bis zum {{ letter_date }}",
    "compensation": "Pauschale für Beitreibungskosten",
    "total": "Gesamtbetrag",
    "basis_eu_directive": "Zinsen laufen ab dem Tag nach der jeweiligen Fälligkeit in Höhe "
    "des Zinssatzes der Richtlinie 2011/7/EU zur Bekämpfung von Zahlungsverzug im "
    "Geschäftsverkehr: Referenzzinssatz der Europäischen Zentralbank zuzüglich "
    "{{ interest_margin }} (derzeit {{ interest_rate }} jährlich).{% if has_compensation %} "
    "Für jede Rechnung wird zudem eine Pauschale für Beitreibungskosten geltend gemacht."
    "{% endif %}",
    "basis_hu_ptk": "Zinsen laufen ab dem Tag nach der jeweiligen Fälligkeit nach § 6:155 des "
    "ungarischen Bürgerlichen Gesetzbuchs (Gesetz V von 2013): Leitzins der Magyar Nemzeti "
    "Bank zuzüglich {{ interest_margin }} (derzeit {{ interest_rate }} jährlich)."
    "{% if has_compensation %} Für jede Rechnung wird zudem eine Pauschale für "
    "Beitreibungskosten in Höhe des Gegenwerts von {{ compensation_eur }} in Forint zum "
    "amtlichen Wechselkurs der MNB geltend gemacht.{% endif %}",
    "basis_uk_late_payment": "Zinsen laufen ab dem Tag nach der jeweiligen Fälligkeit nach dem "
    "britischen Late Payment of Commercial Debts (Interest) Act 1998: Leitzins der Bank of "
    "England zuzüglich {{ interest_margin }}{% if has_compensation %}; die Pauschale wird "
    "nach Section 5A dieses Gesetzes geltend gemacht{% endif %}.",
    "basis_contract": "Zinsen laufen ab dem Tag nach der jeweiligen Fälligkeit zum vertraglich "
    "vereinbarten Zinssatz von {{ interest_rate }} jährlich.",
    "pay": "{% if iban %}Bitte überweisen Sie den Betrag auf unser Konto **IBAN {{ iban }}**"
    "{% if bic %}, BIC {{ bic }}{% endif %}{% if bank_name %} ({{ bank_name }}){% endif %} "
    "unter Angabe des Zeichens {{ reference }}.{% else %}Bitte geben Sie bei Ihrer Zahlung "
    "das Zeichen {{ reference }} an.{% endif %}",
    "page": "Seite",
    "tax_id": "Steuernummer",
    "tel": "Tel.",
}

COMMON["fr"] = {
    "our_ref": "Notre référence",
    "customer_no": "N° client",
    "attn": "À l'attention de",
    # The formal close repeats the salutation, which names no one (the contact is on the
    # "À l'attention de" line).
    "dear": "Madame, Monsieur,",
    "closing": ["Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées."],
    "department": "Service recouvrement",
    "interest_words": "{% if has_compensation %}les intérêts de retard et l'indemnité "
    "forfaitaire{% else %}les intérêts de retard{% endif %}",
    "reply_words": " ({{ reply_days }} jours{% if not reply_days_calendar %} ouvrés{% endif %} "
    "à compter de la date de la présente lettre)",
    "table_heading": "Factures échues",
    "cols": (
        "Facture",
        "Date facture",
        "Échéance",
        "Jours de retard",
        "Montant",
        "Payé",
        "Restant dû",
        "Taux",
        "Intérêts",
        "Indemnité",
    ),
    "subtotal": "Sous-total",
    "principal": "Principal restant dû",
    "credits": "Moins avoirs et acomptes",
    "interest_to": "Intérêts au {{ letter_date }}",
    "compensation": "Indemnité forfaitaire pour frais de recouvrement",
    "total": "Total dû",
    "basis_eu_directive": "Des intérêts courent à compter du lendemain de chaque échéance au "
    "taux prévu par la directive 2011/7/UE concernant la lutte contre le retard de paiement "
    f"dans les transactions commerciales{_NB}: le taux de référence de la Banque centrale "
    "européenne majoré de {{ interest_margin }} (soit actuellement {{ interest_rate }} "
    "l'an).{% if has_compensation %} Chaque facture donne en outre lieu à une indemnité "
    "forfaitaire pour frais de recouvrement.{% endif %}",
    "basis_hu_ptk": "Des intérêts courent à compter du lendemain de chaque échéance "
    f"conformément à l'article 6:155 du Code civil hongrois (loi V de 2013){_NB}: le taux de "
    "base de la Magyar Nemzeti Bank majoré de {{ interest_margin }} (soit actuellement "
    "{{ interest_rate }} l'an).{% if has_compensation %} Chaque facture donne en outre lieu "
    "à une indemnité forfaitaire pour frais de recouvrement égale à la contre-valeur de "
    "{{ compensation_eur }} en forints au cours officiel de la MNB.{% endif %}",
    "basis_uk_late_payment": "Des intérêts courent à compter du lendemain de chaque échéance "
    "en application du Late Payment of Commercial Debts (Interest) Act 1998 du Royaume-Uni, "
    "au taux de base de la Bank of England majoré de {{ interest_margin }}"
    f"{{% if has_compensation %}}{_NB}; l'indemnité forfaitaire est réclamée en vertu de sa "
    "section 5A{% endif %}.",
    "basis_contract": "Des intérêts courent à compter du lendemain de chaque échéance au taux "
    "contractuel de {{ interest_rate }} l'an.",
    "pay": "{% if iban %}Merci d'effectuer le règlement sur notre compte **IBAN {{ iban }}**"
    "{% if bic %}, BIC {{ bic }}{% endif %}{% if bank_name %} ({{ bank_name }}){% endif %}, "
    "en indiquant{% else %}Merci d'indiquer lors de votre règlement{% endif %} la référence "
    "{{ reference }}.",
    "colon": f"{_NB}:",
    "page": "Page",
    "tax_id": "N° d'identification",
    "tel": "Tél.",
}

# German cases differ after "auf", "trotz" and "mit": each sentence names the letter itself.
_DE_PREVIOUS = (
    "vom {{ previous_date }} ({{ previous_letter_name }}, Zeichen {{ previous_reference }})"
)
PREVIOUS["fr"] = (
    "notre {{ previous_letter_name }} du {{ previous_date }} (réf. {{ previous_reference }})"
)
UNPAID["de"] = "Die unten aufgeführten Rechnungen sind trotz Fälligkeit noch nicht bezahlt."
UNPAID["fr"] = (
    "Les factures détaillées ci-dessous restent impayées bien que leur date d'échéance soit "
    "dépassée."
)

LETTER_TEXT.update(
    {
        ("reminder", "de"): {
            "subject": "Zahlungserinnerung: überfällige Rechnungen",
            "before": [
                "{% if previous_letter %}Wir beziehen uns auf unser Schreiben "
                + _DE_PREVIOUS
                + ". {% endif %}Nach unseren Unterlagen sind die unten aufgeführten Rechnungen "
                "trotz Fälligkeit noch nicht bezahlt. Der überfällige Betrag beläuft sich auf "
                "**{{ total_overdue }}**.",
                "Vielleicht ist Ihnen die Zahlung entgangen. Wir bitten Sie, "
                "**{{ total_claim }}** bis zum **{{ reply_by }}** zu überweisen.",
            ],
            "after": [
                "Sollten Sie in den letzten Tagen bereits gezahlt haben, betrachten Sie dieses "
                "Schreiben bitte als gegenstandslos. Bei Fragen zu diesen Rechnungen wenden Sie "
                "sich bitte unter Angabe des obigen Zeichens an uns.",
            ],
        },
        ("formal_demand", "de"): {
            "subject": "Mahnung: Aufforderung zur Zahlung",
            "before": [
                "{% if previous_letter %}Trotz unseres Schreibens "
                + _DE_PREVIOUS
                + " sind die unten aufgeführten Rechnungen weiterhin unbezahlt.{% else %}"
                + UNPAID["de"]
                + "{% endif %} Die überfällige Hauptforderung beträgt **{{ total_overdue }}**"
                "{% if has_interest %}; einschließlich {{ interest_words }} sind "
                "**{{ total_claim }}** fällig{% endif %}.",
                "Wir fordern Sie hiermit förmlich auf, **{{ total_claim }}** spätestens bis zum "
                "**{{ reply_by }}** zu zahlen.",
            ],
            "after": [
                "Bis zum Eingang des vollständigen Betrags stellen wir Lieferungen an Sie ein "
                "und gewähren keinen weiteren Kredit.",
                "Sollten Sie eine dieser Rechnungen beanstanden, teilen Sie uns dies bitte bis "
                "zu demselben Datum schriftlich mit Begründung mit.",
            ],
        },
        ("final_demand", "de"): {
            "subject": "Letzte Mahnung vor Einleitung rechtlicher Schritte",
            "before": [
                "{% if previous_letter %}Mit unserem Schreiben "
                + _DE_PREVIOUS
                + " haben wir Sie auf die unten aufgeführten überfälligen Rechnungen "
                "hingewiesen, ohne dass eine Zahlung eingegangen ist.{% else %}"
                + UNPAID["de"]
                + "{% endif %} Die überfällige Hauptforderung beträgt nun "
                "**{{ total_overdue }}**; die älteste Rechnung ist seit "
                "{{ oldest_days_overdue }} Tagen überfällig.",
                "Dies ist unsere letzte Mahnung. Geht der Betrag von **{{ total_claim }}** "
                "nicht bis zum **{{ reply_by }}** bei uns ein, werden wir ohne weitere "
                "Ankündigung unsere Rechtsanwälte mit der gerichtlichen Geltendmachung "
                "beauftragen. Die Kosten des Verfahrens{% if has_interest %} sowie weiter anfallende "
                "Zinsen{% endif %} können Ihnen in Rechnung gestellt werden.",
            ],
            "after": [
                "Gibt es einen uns nicht bekannten Grund für die Nichtzahlung, setzen Sie sich "
                "bitte umgehend mit uns in Verbindung: Dies ist die letzte Gelegenheit, die "
                "Angelegenheit ohne gerichtliche Schritte zu klären.",
            ],
        },
        ("legal_demand", "de"): {
            "subject": "Zahlungsaufforderung vor Klageerhebung: {{ total_claim }}",
            "table_heading": "Forderungsaufstellung",
            "principal": "Hauptforderung",
            "total": "Gesamtforderung",
            "before": [
                "{{ company_name }} macht hiermit die in der nachstehenden "
                "Forderungsaufstellung aufgeführte Forderung gegen Sie geltend, die"
                "{% if previous_letter %} trotz unseres Schreibens "
                + _DE_PREVIOUS
                + "{% endif %} weiterhin unbezahlt ist.",
            ],
            "basis_extra": "Die Zinsen laufen bis zum Tag der Zahlung weiter.",
            "after": [
                "**Frist:** Sie müssen **{{ total_claim }}** vollständig bis zum "
                "**{{ reply_by }}**{{ reply_words }} zahlen.",
                "**Folge:** Geht der vollständige Betrag bis zu diesem Datum nicht ein, werden "
                "wir ohne weitere Ankündigung gerichtliche Schritte gegen Sie einleiten, um die "
                "Forderung{% if has_interest %}, weitere Zinsen{% endif %} und unsere Rechtsverfolgungskosten "
                "beizutreiben. Ein "
                "Gerichtsverfahren kann Ihre Kreditwürdigkeit beeinträchtigen.",
                "Sollten Sie die Forderung ganz oder teilweise bestreiten, teilen Sie uns dies "
                "bitte vor Ablauf der Frist schriftlich mit vollständiger Begründung und den "
                "entsprechenden Unterlagen mit.",
            ],
        },
        ("reminder", "fr"): {
            "subject": f"Relance{_NB}: factures échues",
            "before": [
                "{% if previous_letter %}Nous faisons suite à "
                + PREVIOUS["fr"]
                + ". {% endif %}Sauf erreur de notre part, les factures détaillées ci-dessous "
                "restent impayées bien que leur date d'échéance soit dépassée. Le montant échu "
                "s'élève à **{{ total_overdue }}**.",
                "Il s'agit peut-être d'un oubli. Nous vous remercions de bien vouloir régler "
                "**{{ total_claim }}** au plus tard le **{{ reply_by }}**.",
            ],
            "after": [
                "Si vous avez effectué le règlement ces derniers jours, nous vous prions de ne "
                "pas tenir compte de ce courrier. Pour toute question sur ces factures, "
                "contactez-nous en rappelant la référence ci-dessus.",
            ],
        },
        ("formal_demand", "fr"): {
            "subject": "Mise en demeure de payer",
            "before": [
                "{% if previous_letter %}Malgré "
                + PREVIOUS["fr"]
                + ", les factures détaillées ci-dessous restent impayées.{% else %}"
                + UNPAID["fr"]
                + "{% endif %} Le principal échu s'élève à **{{ total_overdue }}**"
                f"{{% if has_interest %}}{_NB}; avec {{{{ interest_words }}}}, la somme due est "
                "de **{{ total_claim }}**{% endif %}.",
                "Par la présente, nous vous mettons en demeure de régler la somme de "
                "**{{ total_claim }}** au plus tard le **{{ reply_by }}**.",
            ],
            "after": [
                "Jusqu'à réception du paiement intégral, les livraisons à votre compte sont "
                "suspendues et aucun crédit supplémentaire ne vous sera accordé.",
                "Si vous contestez l'une de ces factures, merci de nous en faire part par écrit "
                "avant cette date en précisant vos motifs.",
            ],
        },
        ("final_demand", "fr"): {
            "subject": "Dernière mise en demeure avant poursuites judiciaires",
            "before": [
                "{% if previous_letter %}Nous vous avons écrit au sujet des factures échues "
                "détaillées ci-dessous par "
                + PREVIOUS["fr"]
                + ", sans recevoir de paiement.{% else %}"
                + UNPAID["fr"]
                + "{% endif %} Le principal échu s'élève désormais à **{{ total_overdue }}**"
                f"{_NB}; la facture la plus ancienne présente un retard de "
                "{{ oldest_days_overdue }} jours.",
                "Ceci est notre dernière mise en demeure. À défaut de réception de "
                "**{{ total_claim }}** au plus tard le **{{ reply_by }}**, nous chargerons nos "
                "avocats d'engager une procédure judiciaire sans autre avis. Les frais de cette "
                "procédure{% if has_interest %}, ainsi que les intérêts qui continuent de courir,{% endif %}"
                " pourront être mis à votre charge.",
            ],
            "after": [
                "Si une raison que nous ignorons explique ce défaut de paiement, contactez-nous "
                f"immédiatement{_NB}: c'est la dernière occasion de régler cette affaire à "
                "l'amiable.",
            ],
        },
        ("legal_demand", "fr"): {
            "subject": f"Mise en demeure avant action en justice{_NB}: paiement de "
            "{{ total_claim }}",
            "table_heading": "Décompte de la créance",
            "principal": "Principal",
            "total": "Total réclamé",
            "before": [
                "{{ company_name }} vous réclame par la présente le paiement de la créance "
                "détaillée dans le décompte ci-dessous, qui reste impayée"
                "{% if previous_letter %} malgré " + PREVIOUS["fr"] + "{% endif %}.",
            ],
            "basis_extra": "Les intérêts continuent de courir jusqu'à la date du paiement.",
            "after": [
                f"**Délai{_NB}:** vous devez régler **{{{{ total_claim }}}}** en totalité au "
                "plus tard le **{{ reply_by }}**{{ reply_words }}.",
                f"**Conséquence{_NB}:** à défaut de paiement intégral à cette date, nous "
                "engagerons sans autre avis une action en justice à votre encontre pour "
                "recouvrer la créance{% if has_interest %}, les intérêts à échoir{% endif %} et nos frais de procédure. Une "
                "procédure judiciaire peut nuire à votre réputation financière.",
                "Si vous contestez tout ou partie de cette créance, vous devez nous en informer "
                "par écrit avant l'expiration du délai, en exposant vos motifs et en joignant "
                "les justificatifs.",
            ],
        },
    }
)


FIELDS = (
    "invoice",
    "invoice_date",
    "due_date",
    "days_overdue",
    "amount",
    "paid",
    "balance",
    "rate",
    "interest",
    "compensation",
)


# ---- low-level helpers -------------------------------------------------------------------


def _add_runs(
    paragraph,
    text: str,
    size: float | None = None,
    bold: bool = False,
    color: RGBColor | None = None,
) -> None:
    """Add ``text`` to ``paragraph``; ``**...**`` segments are bold."""
    for index, chunk in enumerate(re.split(r"\*\*", text)):
        if not chunk:
            continue
        run = paragraph.add_run(chunk)
        if bold or index % 2 == 1:
            run.bold = True
        if size:
            run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color


def _paragraph(
    container,
    text: str = "",
    *,
    size: float | None = None,
    bold: bool = False,
    align=None,
    after: float | None = None,
    before: float | None = None,
    color: RGBColor | None = None,
    keep_with_next: bool = False,
):
    paragraph = container.add_paragraph()
    _add_runs(paragraph, text, size=size, bold=bold, color=color)
    fmt = paragraph.paragraph_format
    if align is not None:
        paragraph.alignment = align
    if after is not None:
        fmt.space_after = Pt(after)
    if before is not None:
        fmt.space_before = Pt(before)
    if keep_with_next:
        fmt.keep_with_next = True
    return paragraph


def _tag(container, tag: str) -> None:
    """A paragraph holding only a docxtpl ``{%p ... %}`` tag (removed when rendering)."""
    _paragraph(container, "{%p " + tag + " %}", after=0)


# Word rejects properties out of schema order: the elements that must follow each one.
_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
_AFTER_TC_SHD = (
    "w:noWrap",
    "w:tcMar",
    "w:textDirection",
    "w:tcFitText",
    "w:vAlign",
    "w:hideMark",
    "w:headers",
    "w:cellIns",
    "w:cellDel",
    "w:cellMerge",
    "w:tcPrChange",
)
_AFTER_TC_BORDERS = ("w:shd", *_AFTER_TC_SHD)
_AFTER_TBL_CELL_MAR = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def _border(element_pr, edges: dict[str, str], tag: str, successors: tuple[str, ...]) -> None:
    borders = OxmlElement(tag)
    for edge, spec in edges.items():
        node = OxmlElement(f"w:{edge}")
        size, color = spec.split(":")
        node.set(qn("w:val"), "single")
        node.set(qn("w:sz"), size)
        node.set(qn("w:space"), "0")
        node.set(qn("w:color"), color)
        borders.append(node)
    element_pr.insert_element_before(borders, *successors)


def _paragraph_rule(paragraph, color: str = "1F3A5F") -> None:
    _border(paragraph._p.get_or_add_pPr(), {"bottom": f"8:{color}"}, "w:pBdr", _AFTER_PBDR)


def _shade(cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().insert_element_before(shading, *_AFTER_TC_SHD)


def _cell_border(cell, edges: dict[str, str]) -> None:
    _border(cell._tc.get_or_add_tcPr(), edges, "w:tcBorders", _AFTER_TC_BORDERS)


def _field(paragraph, instruction: str, size: float) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice update when printing."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    run_pr = OxmlElement("w:rPr")
    size_node = OxmlElement("w:sz")
    size_node.set(qn("w:val"), str(int(size * 2)))
    run_pr.append(size_node)
    run.append(run_pr)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _header_row(row) -> None:
    # Repeat the header row on every page the table spans.
    row_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    row_pr.append(header)


def _cant_split(row) -> None:
    node = OxmlElement("w:cantSplit")
    node.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(node)


def _set_cell(
    cell,
    text: str,
    *,
    size: float = 8,
    bold: bool = False,
    align=None,
    color: RGBColor | None = None,
) -> None:
    paragraph = cell.paragraphs[0]
    _add_runs(paragraph, text, size=size, bold=bold, color=color)
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.space_before = Pt(1)
    if align is not None:
        paragraph.alignment = align


def _cell_margins(table, margin) -> None:
    """Narrow left/right cell margins, so that nine columns fit an A4 page."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        node = OxmlElement(f"w:{edge}")
        node.set(qn("w:w"), str(int(margin.twips)))
        node.set(qn("w:type"), "dxa")
        margins.append(node)
    table._tbl.tblPr.insert_element_before(margins, *_AFTER_TBL_CELL_MAR)


def _widths(table, widths) -> None:
    table.autofit = False
    for index, width in enumerate(widths):
        table.columns[index].width = Cm(width)
        for cell in table.columns[index].cells:
            cell.width = Cm(width)


# ---- the parts of a letter ---------------------------------------------------------------


def _letterhead(section, common) -> None:
    header = section.header
    first = header.paragraphs[0]
    _add_runs(first, "{{ company_name }}", size=15, bold=True, color=ACCENT)
    first.paragraph_format.space_after = Pt(2)
    _paragraph(header, "{{ company_address }}", size=8, color=GREY, after=0)
    # The country in the letter's language (babel), never typed into the address.
    _tag(header, "if company_country")
    _paragraph(header, "{{ company_country }}", size=8, color=GREY, after=0)
    _tag(header, "endif")
    _paragraph(header, "", size=4, after=0)
    contacts = _paragraph(
        header,
        "{% if company_phone %}" + common["tel"] + " {{ company_phone }}   {% endif %}"
        "{% if company_email %}{{ company_email }}   {% endif %}{{ company_website }}",
        size=8,
        color=GREY,
        after=12,
    )
    _paragraph_rule(contacts)


def _footer(section, common) -> None:
    footer = section.footer
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_runs(
        paragraph,
        "{{ company_name }}{% if company_tax_id %} · "
        + common["tax_id"]
        + " {{ company_tax_id }}{% endif %} · {{ reference }} · "
        + common["page"]
        + " ",
        size=7.5,
        color=GREY,
    )
    _field(paragraph, "PAGE", 7.5)
    _add_runs(paragraph, " / ", size=7.5, color=GREY)
    _field(paragraph, "NUMPAGES", 7.5)


def _addressee(doc, common) -> None:
    _paragraph(
        doc,
        "{% if company_city %}{{ company_city }}, {% endif %}{{ letter_date }}",
        align=WD_ALIGN_PARAGRAPH.RIGHT,
        after=14,
    )
    _paragraph(doc, "**{{ customer }}**", after=0)
    _tag(doc, "if contact")
    _paragraph(doc, common["attn"] + " {{ contact }}", after=0)
    _tag(doc, "endif")
    _tag(doc, "if address")
    _paragraph(doc, "{{ address }}", after=0)
    _tag(doc, "endif")
    _paragraph(doc, "", after=10)
    _paragraph(
        doc,
        common["our_ref"]
        + common.get("colon", ":")
        + " **{{ reference }}**{% if customer_id %}   ·   "
        + common["customer_no"]
        + common.get("colon", ":")
        + " {{ customer_id }}{% endif %}",
        size=9,
        color=GREY,
        after=10,
    )


def _items_table(doc, common, with_interest: bool, with_compensation: bool = True) -> None:
    labels = common["cols"]
    columns = list(range(10)) if with_interest else [0, 1, 2, 3, 4, 5, 6]
    if with_interest:
        columns.remove(1)  # the invoice date makes room for the interest columns
        if not with_compensation:
            columns.remove(9)  # no column of zeros where no compensation applies
    if with_interest:
        widths = WIDTHS_INTEREST if with_compensation else WIDTHS_INTEREST_ONLY
    else:
        widths = WIDTHS_PLAIN
    table = doc.add_table(rows=5, cols=len(columns))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths)
    _cell_margins(table, Cm(0.1))
    money_columns = {4, 5, 6, 8, 9}
    right = WD_ALIGN_PARAGRAPH.RIGHT
    for position, column in enumerate(columns):
        label = labels[column]
        if column in money_columns:
            label += "\n({{ currency }})"
        cell = table.rows[0].cells[position]
        _set_cell(
            cell,
            label,
            bold=True,
            size=7,
            color=RGBColor(0xFF, 0xFF, 0xFF),
            align=right if column >= 3 else None,
        )
        _shade(cell, "1F3A5F")
    _header_row(table.rows[0])
    _cant_split(table.rows[0])
    _set_cell(table.rows[1].cells[0], "{%tr for item in items %}")
    for position, column in enumerate(columns):
        cell = table.rows[2].cells[position]
        _set_cell(
            cell,
            "{{ item." + FIELDS[column] + " }}",
            size=7.5,
            align=right if column >= 3 else None,
        )
        _cell_border(cell, {"bottom": "4:BFBFBF"})
    _cant_split(table.rows[2])
    _set_cell(table.rows[3].cells[0], "{%tr endfor %}")
    subtotals = {
        4: "{{ subtotal_amount }}",
        5: "{{ subtotal_paid }}",
        6: "{{ subtotal_balance }}",
        8: "{{ subtotal_interest }}",
        9: "{{ subtotal_compensation }}",
    }
    for position, column in enumerate(columns):
        cell = table.rows[4].cells[position]
        text = common["subtotal"] if position == 0 else subtotals.get(column, "")
        _set_cell(cell, text, bold=True, size=7.5, align=right if column >= 3 else None)
        _cell_border(cell, {"top": "8:1F3A5F"})
        _shade(cell, "EAF0F7")
    _cant_split(table.rows[4])


def _totals_table(doc, common, text) -> None:
    rows = [
        (text.get("principal", common["principal"]), "{{ total_overdue }}", None),
        ("{%tr if has_credits %}", "", "tag"),
        (common.get("credits", COMMON["en"]["credits"]), "{{ total_credits }}", None),
        ("{%tr endif %}", "", "tag"),
        ("{%tr if has_interest %}", "", "tag"),
        (common["interest_to"], "{{ total_interest }}", None),
        ("{%tr endif %}", "", "tag"),
        ("{%tr if has_compensation %}", "", "tag"),
        (common["compensation"], "{{ total_compensation }}", None),
        ("{%tr endif %}", "", "tag"),
        (text.get("total", common["total"]), "{{ total_claim }}", "total"),
    ]
    table = doc.add_table(rows=len(rows), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.RIGHT
    _widths(table, (7.6, 3.4))
    for row, (label, value, kind) in zip(table.rows, rows, strict=True):
        bold = kind == "total"
        _set_cell(row.cells[0], label, size=9, bold=bold)
        _set_cell(row.cells[1], value, size=9, bold=bold, align=WD_ALIGN_PARAGRAPH.RIGHT)
        if kind == "total":
            for cell in row.cells:
                _cell_border(cell, {"top": "8:1F3A5F", "bottom": "8:1F3A5F"})
                _shade(cell, "EAF0F7")
        _cant_split(row)


REGIMES = ("eu_directive", "uk_late_payment", "hu_ptk", "contract")


def _legal_basis(doc, common, text) -> None:
    for index, regime in enumerate(REGIMES):
        _tag(doc, ("if" if index == 0 else "elif") + f" interest_rule == '{regime}'")
        _paragraph(doc, common[f"basis_{regime}"], size=9)
    _tag(doc, "endif")
    if "basis_extra" in text:
        _tag(doc, "if has_interest")
        _paragraph(doc, text["basis_extra"], size=9)
        _tag(doc, "endif")


def _signature(doc, common) -> None:
    """The close and the signature: each line kept whole and with the next (Word's
    keep-with-next and keep-lines-together), the last one ending the chain."""
    lines = common["closing"]
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        _paragraph(
            doc, line, before=6 if index == 0 else 0, after=30 if last else 0, keep_with_next=True
        ).paragraph_format.keep_together = True
    department = common["department"]
    _paragraph(
        doc, "**{{ signatory or '" + department + "' }}**", after=0, keep_with_next=True
    ).paragraph_format.keep_together = True
    _tag(doc, "if signatory_title")
    _paragraph(
        doc, "{{ signatory_title }}", after=0, keep_with_next=True
    ).paragraph_format.keep_together = True
    _tag(doc, "endif")
    _paragraph(doc, "{{ company_name }}", after=0).paragraph_format.keep_together = True


def _sign_off_block(doc):
    """A borderless one-cell table whose row cannot split: the cell for the last body
    paragraph and the sign-off, so that no page ever holds only the signature.

    Keep-with-next alone is not enough: LibreOffice lets the last paragraph stay behind
    when the chain ends the document. A row that cannot split moves as a whole in Word
    and LibreOffice alike.
    """
    table = doc.add_table(rows=1, cols=1)
    _widths(table, (17.0,))
    _cell_margins(table, Cm(0))
    _cant_split(table.rows[0])
    cell = table.rows[0].cells[0]
    return cell


def _expand(text: str, common) -> str:
    """Insert the language's shared phrases (interest wording, reply days) into ``text``."""
    for key in ("interest_words", "reply_words"):
        text = text.replace("{{ " + key + " }}", common[key])
    return text


def _page_setup(section) -> None:
    """A4 with the margins and header/footer distances of the letterhead and footer."""
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.8)
    section.header_distance, section.footer_distance = Cm(0.8), Cm(0.8)


def _normal_style(doc, language: str) -> None:
    """The Normal style: font, size, spacing and language tag of the letter's language."""
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    # East-Asian and complex-script fonts too, so Word does not fall back per character;
    # Chinese letters name a CJK font for their East-Asian text.
    run_pr = normal.element.get_or_add_rPr()
    fonts = run_pr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), CJK_FONT.get(language, FONT))
    fonts.set(qn("w:cs"), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANG_TAG[language])
    lang.set(qn("w:eastAsia"), LANG_TAG["zh"] if language == "zh" else LANG_TAG[language])
    run_pr.append(lang)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1


def build(letter: str, language: str) -> Document:
    """The template of ``letter`` in ``language`` as a python-docx Document."""
    common = COMMON[language]
    text = LETTER_TEXT[(letter, language)]
    doc = Document()
    section = doc.sections[0]
    _page_setup(section)
    _normal_style(doc, language)

    _letterhead(section, common)
    _footer(section, common)
    _addressee(doc, common)
    _paragraph(doc, text["subject"], size=12, bold=True, color=ACCENT, after=10)
    _paragraph(doc, common["dear"])
    for paragraph in text["before"]:
        _paragraph(doc, _expand(paragraph, common))
    _paragraph(
        doc,
        text.get("table_heading", common["table_heading"]),
        bold=True,
        color=ACCENT,
        before=4,
        after=4,
        keep_with_next=True,
    )
    _tag(doc, "if has_compensation")
    _items_table(doc, common, with_interest=True)
    _tag(doc, "elif has_interest")
    _items_table(doc, common, with_interest=True, with_compensation=False)
    _tag(doc, "else")
    _items_table(doc, common, with_interest=False)
    _tag(doc, "endif")
    _paragraph(doc, "", after=2)
    _totals_table(doc, common, text)
    _paragraph(doc, "", after=4)
    _legal_basis(doc, common, text)
    _paragraph(doc, common["pay"])
    after = text["after"]
    for paragraph in after[:-1]:
        _paragraph(doc, _expand(paragraph, common)).paragraph_format.keep_together = True
    # The last paragraph and the sign-off share one unsplittable block.
    block = _sign_off_block(doc)
    closing = _paragraph(block, _expand(after[-1], common), keep_with_next=True)
    closing.paragraph_format.keep_together = True
    _signature(block, common)
    block._tc.remove(block.paragraphs[0]._p)  # the cell's initial empty paragraph

    props = doc.core_properties
    props.title = re.split("[:：]", text["subject"])[0]
    props.author = props.last_modified_by = "Receivables Collections"
    props.created = props.modified = FIXED_DATE
    props.revision = 1
    return doc


def main(argv: list[str] | None = None) -> None:
    """Write every template into the output folder (default: beside this script)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args(argv)
    for letter in LETTERS:
        for language in LANGUAGES:
            path = args.out / f"{letter}.{language}.docx"
            path.write_bytes(_fixed_zip(build(letter, language)))
            print(path)


def _fixed_zip(doc) -> bytes:
    """The saved document with fixed zip timestamps, so that a rebuild changes no byte."""
    saved = io.BytesIO()
    doc.save(saved)
    fixed = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(fixed, "w") as out:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(entry, source.read(info))
    return fixed.getvalue()


if __name__ == "__main__":
    main()
