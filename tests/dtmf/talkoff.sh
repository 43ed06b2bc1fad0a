#!/bin/sh
# Makes the speech for the talk-off measurement with espeak-ng and sox (cached in
# DIR/speech) and runs dtmf-talkoff on it and on MUSIC_MINUTES of each music timbre.
#   talkoff.sh DTMF_TALKOFF_BINARY DIR [MUSIC_MINUTES]
# Without espeak-ng or sox the speech is skipped, with a message; the music still runs.
set -eu
bin=$1
dir=$2
minutes=${3:-20}
speech=$dir/speech
mkdir -p "$speech"

# One text per language: a few sentences of what callers hear and say, with numbers.
text() {
    case $1 in
    en*) echo "Thank you for calling. Your account balance is one hundred and twenty three dollars and forty five cents. For billing, press one; for technical support, press two; to hear these options again, press nine. Please hold while we connect you to the next available agent. My number is five five five, zero one nine eight, and my order was placed on the twenty first of March." ;;
    de) echo "Vielen Dank für Ihren Anruf. Ihr Kontostand beträgt einhundertdreiundzwanzig Euro und fünfundvierzig Cent. Für Rechnungen drücken Sie die Eins, für den technischen Support die Zwei. Bitte bleiben Sie am Apparat, der nächste freie Mitarbeiter ist gleich für Sie da. Meine Kundennummer ist vier sieben null acht drei." ;;
    fr) echo "Merci de votre appel. Le solde de votre compte est de cent vingt-trois euros et quarante-cinq centimes. Pour la facturation, tapez un; pour l'assistance technique, tapez deux. Veuillez patienter, un conseiller va prendre votre appel. Mon numéro est le zéro six, quarante-deux, dix-sept, quatre-vingt-dix-neuf." ;;
    es) echo "Gracias por su llamada. El saldo de su cuenta es de ciento veintitrés euros con cuarenta y cinco céntimos. Para facturación, pulse uno; para soporte técnico, pulse dos. Por favor, espere mientras le pasamos con el próximo agente disponible. Mi número es seis uno cuatro, veintidós, ochenta y siete." ;;
    ru) echo "Спасибо за ваш звонок. Баланс вашего счёта составляет сто двадцать три рубля сорок пять копеек. Для вопросов по оплате нажмите один, для технической поддержки нажмите два. Пожалуйста, оставайтесь на линии, оператор скоро ответит. Мой номер восемь девятьсот шестнадцать, сорок два, ноль семь." ;;
    it) echo "Grazie per aver chiamato. Il saldo del suo conto è di centoventitré euro e quarantacinque centesimi. Per la fatturazione prema uno, per l'assistenza tecnica prema due. Resti in linea, il primo operatore disponibile le risponderà. Il mio numero è tre quattro sette, due zero uno, novantanove." ;;
    pt) echo "Obrigado pela sua chamada. O saldo da sua conta é de cento e vinte e três euros e quarenta e cinco cêntimos. Para faturação, prima um; para apoio técnico, prima dois. Por favor aguarde, o próximo operador disponível irá atendê-lo. O meu número é nove um dois, trinta e quatro, cinquenta e seis." ;;
    nl) echo "Bedankt voor uw oproep. Uw saldo bedraagt honderddrieëntwintig euro en vijfenveertig cent. Voor facturen, druk op een; voor technische ondersteuning, druk op twee. Een ogenblik geduld, de eerstvolgende medewerker helpt u zo. Mijn nummer is nul zes, twaalf, vierendertig, zesenvijftig." ;;
    pl) echo "Dziękujemy za telefon. Saldo Twojego konta wynosi sto dwadzieścia trzy złote i czterdzieści pięć groszy. W sprawie rachunków naciśnij jeden, pomoc techniczna to dwa. Prosimy czekać, konsultant wkrótce odbierze. Mój numer to sześćset dwa, czterdzieści osiem, dziewięćdziesiąt jeden." ;;
    cmn) echo "感谢您的来电。您的账户余额为一百二十三元四角五分。查询话费请按一，技术支持请按二，重听请按九。请稍候，我们正在为您转接下一位客服代表。我的电话号码是一三八，零零一三，八八六六。" ;;
    esac
}

if command -v espeak-ng >/dev/null 2>&1 && command -v sox >/dev/null 2>&1; then
    if [ ! -f "$speech/.done" ]; then
        rm -f "$speech"/*.raw
        for voice in en en-us de fr es ru it pt nl pl cmn; do
            t=$(text "$voice")
            i=0
            for variant in "" +f2 +m3 +f4; do
                for speed in 140 175 210; do
                    pitch=$((30 + 20 * (i % 3)))
                    i=$((i + 1))
                    name="$voice$variant-s$speed-p$pitch"
                    # espeak-ng writes 22050 Hz; sox resamples to 8 kHz (with its
                    # anti-alias filter) and writes raw signed 16-bit samples.
                    if espeak-ng -v "$voice$variant" -s "$speed" -p "$pitch" \
                            -w "$speech/$name.wav" "$t" 2>/dev/null &&
                        sox -V1 "$speech/$name.wav" -t raw -r 8000 -c 1 -b 16 \
                            -e signed-integer "$speech/$name.raw"; then
                        :
                    else
                        echo "talkoff: espeak-ng voice $voice$variant failed, skipped"
                        rm -f "$speech/$name.raw"
                    fi
                    rm -f "$speech/$name.wav"
                done
            done
        done
        touch "$speech/.done"
    fi
    exec "$bin" --speech "$speech" --music-minutes "$minutes" --report "$dir/talkoff-report.txt"
fi
echo "talkoff: espeak-ng or sox missing: speech skipped (tools/setup.sh installs them)"
exec "$bin" --music-minutes "$minutes" --report "$dir/talkoff-report.txt"
